Feature: Records and answers checked against your lexicons
  This project's lexicons are in lexicons/ beside features/: the record
  xyz.statusphere.status and the query xyz.statusphere.getStatuses. The
  reference library (@atproto/lexicon) judges records and answers against
  them, and the PDS's own schemas judge com.atproto.* and app.bsky.* - the
  PDS itself stores a record of a lexicon it does not know unchecked.

  Background:
    Given a PDS named A
    And an account alice.test on PDS A
    And an account bob.test on PDS A

  Scenario: A status made from a table is valid: its createdAt is now
    When alice.test creates a xyz.statusphere.status record with:
      | field  | value |
      | status | 🦋    |
    Then alice.test's latest xyz.statusphere.status record is valid

  Scenario: A broken status is stored by the PDS, and the lexicon says what is wrong
    When alice.test tries to create a xyz.statusphere.status record:
      """
      {"status": "🦋"}
      """
    Then the request succeeds
    And the response contains:
      """
      {"uri": "${alice.test.latest.uri}", "validationStatus": "unknown"}
      """
    And the response is valid against its lexicon
    And alice.test's latest xyz.statusphere.status record is not valid, saying "Record must have the property \"createdAt\""

  Scenario: Every record the scenario wrote, posts and follows too, is checked
    When alice.test posts "hello"
    And bob.test follows alice.test
    And alice.test creates a xyz.statusphere.status record with:
      | field     | value                    |
      | status    | 👍                       |
      | createdAt | 2026-12-07T12:00:00.000Z |
    Then every record written in this scenario is valid against its lexicon

  Scenario: An app's answer is valid against the lexicon of its query
    Given a relay crawling PDS A
    And Tap on the relay sending xyz.statusphere.status to the app statusphere at /api/webhook
    And the app statusphere is running
    When alice.test creates a xyz.statusphere.status record with:
      | field  | value |
      | status | 👍    |
    Then the app statusphere logs "@alice.test set their status to 👍"
    When bob.test queries xyz.statusphere.getStatuses on the app statusphere with:
      """
      {"limit": 10}
      """
    Then the request succeeds
    And the response is valid against its lexicon
    And the response contains:
      """
      {"statuses": [{"status": "👍", "author": "${alice.test.did}"}]}
      """
