Feature: People sign in to a single-page app with AT Protocol OAuth in the browser
  spa/app.js is its own OAuth client in the browser
  (@atproto/oauth-client-browser, bundled with esbuild): no server takes
  part in OAuth. The person signs in on their PDS's own pages the same way,
  and the page writes to their repository with the tokens it holds.

  Background:
    Given a PDS named A
    And an account alice.test on PDS A
    And an account bob.test on PDS A
    And the app spa is running

  Scenario: Sign in step by step, then set a status through the page
    When alice.test opens the app spa
    And alice.test fills "Handle" with "alice.test"
    And alice.test clicks "Sign in"
    Then alice.test is on her PDS's authorization page
    And the app spa asks alice.test's PDS for the scope "repo:xyz.statusphere.status"
    When alice.test signs in on her PDS's authorization page
    Then alice.test is on the app spa
    And alice.test sees "Signed in as alice.test"
    When alice.test fills "Status" with "🦋 from the browser"
    And alice.test clicks "Set status"
    Then alice.test sees "🦋 from the browser"
    And alice.test has 1 xyz.statusphere.status record
    And the firehose of PDS A shows a commit by alice.test creating xyz.statusphere.status

  Scenario: Consent denied: the page says so and holds no session
    When alice.test opens the app spa
    And alice.test fills "Handle" with "alice.test"
    And alice.test clicks "Sign in"
    And alice.test denies access on her PDS's authorization page
    Then alice.test is on the app spa
    And alice.test sees "Sign-in failed"
    And alice.test does not see "Signed in as"

  Scenario: The session lives in the browser: a reload keeps it, signing out ends it
    When alice.test signs in to the app spa
    And alice.test opens the app spa
    Then alice.test sees "Signed in as alice.test"
    When alice.test clicks "Sign out"
    Then alice.test sees "Handle"
    And alice.test does not see "Signed in as alice.test"
    When alice.test opens the app spa
    Then alice.test sees "Handle"

  Scenario: Two people at once, each in their own browser context
    When alice.test signs in to the app spa
    And bob.test signs in to the app spa
    Then alice.test sees "Signed in as alice.test"
    And bob.test sees "Signed in as bob.test"
    When bob.test fills "Status" with "bob was here"
    And bob.test clicks "Set status"
    Then bob.test sees "bob was here"
    And bob.test has 1 xyz.statusphere.status record
    And alice.test has 0 xyz.statusphere.status records
