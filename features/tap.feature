Feature: Tap on the relay
  Tap (indigo cmd/tap, built with go install on first use) follows the relay
  for the accounts it tracks, backfills each one from its PDS, and delivers
  verified record events with acks. Apps that read Tap get ${tap.url} and
  ${tap.admin_password}.

  Background:
    Given a PDS named A
    And a relay crawling PDS A
    And an account alice.test on PDS A
    And an account bob.test on PDS A
    And an account carol.test on PDS A

  Scenario: Live events of tracked accounts, none of the others
    Given Tap tracking alice.test and bob.test
    When alice.test posts "hello, tap"
    And carol.test posts "nobody tracks me"
    Then Tap delivers a create of app.bsky.feed.post by alice.test
    And Tap delivers no event for carol.test
    And Tap delivers no event for bob.test

  Scenario: An account tracked after it had records is backfilled
    Given alice.test posts "one"
    And alice.test posts "two"
    And alice.test posts "three"
    And bob.test follows alice.test
    When Tap starts tracking alice.test
    Then Tap has backfilled alice.test's 3 app.bsky.feed.post records
    And Tap delivers an identity event for alice.test

  Scenario: Collection filters keep only what the app asked for
    Given Tap filtered to app.bsky.feed.like tracking alice.test and bob.test
    And alice.test posts "like me"
    When bob.test likes alice.test's latest post
    And alice.test posts "not delivered"
    Then Tap delivers a create of app.bsky.feed.like by bob.test
    And Tap delivers no create of app.bsky.feed.post by alice.test
