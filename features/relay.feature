Feature: A relay aggregating several PDSes
  The real indigo relay subscribes to every PDS of the network and streams
  their repositories' events in one firehose, with its own sequence numbers,
  as relays do in production. Sync validation is strict.

  Background:
    Given a PDS named A
    And a PDS named B
    And a relay crawling PDS A and PDS B
    And an account alice.test on PDS A
    And an account bob.test on PDS B

  Scenario: Commits from both PDSes reach the relay's firehose
    When alice.test posts "hello from A"
    And bob.test posts "hello from B"
    Then the relay firehose shows a commit
    And the relay firehose shows a commit by alice.test
    And the relay firehose shows a commit by alice.test creating app.bsky.feed.post
    And the relay firehose shows a commit by bob.test creating app.bsky.feed.post
    And the relay firehose numbers its events in increasing order

  Scenario: Accounts created on either PDS are announced by the relay
    Then the relay firehose shows an identity event for alice.test
    And the relay firehose shows an identity event for bob.test
    And the relay firehose shows an account event for bob.test with status active

  Scenario: Deletions are relayed too, and nothing is invented
    Given an account carol.test on PDS A
    When alice.test posts "short-lived"
    And alice.test deletes their latest post
    Then the relay firehose shows a commit by alice.test deleting app.bsky.feed.post
    And the relay firehose shows no commit by carol.test
    And the relay firehose has shown an identity event for carol.test
    And the relay firehose has shown a commit by alice.test creating app.bsky.feed.post

  Scenario: The relay lists the hosts it crawls
    When alice.test posts "make some noise"
    And bob.test posts "me too"
    Then the relay lists PDS A as a host
    And the relay lists PDS B as a host

  Scenario: Replaying the relay's firehose from the start
    When alice.test posts "one"
    And alice.test posts "two"
    Then the relay firehose shows a commit by alice.test creating app.bsky.feed.post
    And replaying the relay firehose from cursor 0 shows 2 commits by alice.test creating app.bsky.feed.post
    And replaying the relay firehose from cursor 0 shows 0 commits by bob.test creating app.bsky.feed.post

  Scenario: Accounts on different PDSes find each other through the shared PLC directory
    Then PDS B resolves alice.test's DID to PDS A
    And PDS A resolves bob.test's DID to PDS B

  Scenario: A PDS declared later is crawled too
    Given a PDS named C
    And a relay crawling PDS C
    And an account carol.test on PDS C
    When carol.test posts "late to the party"
    Then the relay firehose shows a commit by carol.test creating app.bsky.feed.post
    And the relay lists PDS C as a host

  Scenario: Deactivations and takedowns on a PDS reach the relay as account events
    When alice.test deactivates their account
    Then the relay firehose shows an account event for alice.test with status deactivated
    When the admin of PDS B takes down bob.test
    Then the relay firehose shows an account event for bob.test with status takendown
    When alice.test reactivates their account
    Then the relay firehose shows an account event for alice.test with status active
