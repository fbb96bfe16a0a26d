Feature: A Background of PDSes and accounts runs once per feature
  A Background made only of PDS and account steps leaves the same network
  before every scenario. atproto-bdd runs it in the first scenario, keeps a
  snapshot of the network (the PLC's operations, each PDS's data, the
  accounts), and starts every later scenario in new services restored from
  it. Every scenario still begins from the same clean state: what one
  scenario changes, the next one never sees. -D background_snapshots=false
  runs the Background every time.

  Background:
    Given a PDS named A
    And an account alice.test
    And an account bob.test

  Scenario: The first scenario changes the network
    When alice.test posts "only in the first scenario"
    And bob.test deactivates their account
    Then alice.test has 1 app.bsky.feed.post record
    And bob.test's account is deactivated

  Scenario: The next scenario starts from the Background's state
    Then alice.test has 0 app.bsky.feed.post records
    And bob.test's account is active
    And alice.test can sign in
    And alice.test's handle resolves to their DID on PDS A
    And the DID document of alice.test claims the handle alice.test

  Scenario Outline: Every scenario writes to its own copy
    When alice.test posts "<text>"
    Then alice.test has 1 app.bsky.feed.post record
    And alice.test's latest post has text "<text>"
    And the firehose of PDS A shows a commit by alice.test creating app.bsky.feed.post

    Examples:
      | text   |
      | first  |
      | second |
