Feature: People sign in to a web app with AT Protocol OAuth and use it
  statusphere.mjs is its own OAuth client (@atproto/oauth-client-node): a
  person types their handle into the app, signs in and approves on their
  PDS's own pages, and is back in the app, which writes to their repository
  with the tokens it got. Every step is a real browser (Chromium).

  Background:
    Given a PDS named A
    And an account alice.test on PDS A
    And an account bob.test on PDS A
    And the app statusphere is running

  Scenario: Sign in step by step, then set a status through the page
    When alice.test opens the app statusphere
    And alice.test fills "Handle" with "alice.test"
    And alice.test clicks "Sign in"
    Then alice.test is on her PDS's authorization page
    And the app statusphere asks alice.test's PDS for the scope "repo:xyz.statusphere.status"
    When alice.test signs in on her PDS's authorization page
    Then alice.test is on the app statusphere
    And alice.test sees "Signed in as alice.test"
    When alice.test fills "Status" with "🦋"
    And alice.test clicks "Set status"
    Then alice.test sees "🦋"
    And alice.test has 1 xyz.statusphere.status record
    And the firehose of PDS A shows a commit by alice.test creating xyz.statusphere.status
    And every record written in this scenario is valid against its lexicon

  Scenario: The status field takes any text, and the lexicon catches what does not fit
    Statusphere's lexicon (lexicons/xyz/statusphere/status.json) allows one
    grapheme; this app's form does not check, and the PDS stores a record of
    a lexicon it does not know as it is.
    When alice.test signs in to the app statusphere
    And alice.test fills "Status" with "🦋 testing"
    And alice.test clicks "Set status"
    Then alice.test sees "🦋 testing"
    And alice.test's latest xyz.statusphere.status record is not valid, saying "Record/status must not be longer than 1 graphemes"

  Scenario: Consent denied: the app says so and holds no session
    When alice.test opens the app statusphere
    And alice.test fills "Handle" with "alice.test"
    And alice.test clicks "Sign in"
    And alice.test denies access on her PDS's authorization page
    Then alice.test is on the app statusphere
    And alice.test sees "Sign-in failed"
    And alice.test does not see "Signed in as"

  Scenario: A wrong password on the PDS's page
    When alice.test opens the app statusphere
    And alice.test fills "Handle" with "alice.test"
    And alice.test clicks "Sign in"
    And alice.test signs in on her PDS's authorization page with the password "not-her-password"
    Then alice.test sees "Wrong identifier or password"
    And alice.test is on her PDS's authorization page

  Scenario: Sign out
    When alice.test signs in to the app statusphere
    And alice.test clicks "Sign out"
    Then alice.test sees "Handle"
    And alice.test does not see "Signed in as alice.test"

  Scenario: Two people signed in at once, each with their own session
    When alice.test signs in to the app statusphere
    And bob.test signs in to the app statusphere
    Then alice.test sees "Signed in as alice.test"
    And bob.test sees "Signed in as bob.test"
    When bob.test fills "Status" with "bob was here"
    And bob.test clicks "Set status"
    Then bob.test has 1 xyz.statusphere.status record
    And alice.test has 0 xyz.statusphere.status records
