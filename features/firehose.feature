Feature: The firehose of a PDS
  Indexers, feed generators and relays consume com.atproto.sync.subscribeRepos.
  These steps decode its frames (headers, bodies, CIDs) and wait, with a
  deadline, for the events a scenario expects. "A commit by" someone means a
  commit that changed at least one of their records.

  Background:
    Given a PDS named A
    And an account alice.test on PDS A

  Scenario: Account creation emits identity, account and sync events
    Then the firehose of PDS A shows an identity event for alice.test
    And the firehose of PDS A shows an account event for alice.test
    And the firehose of PDS A shows an account event for alice.test with status active
    And the firehose of PDS A shows a sync event for alice.test
    And the firehose of PDS A shows no commit by alice.test

  Scenario: Creating and deleting records emits commits with their operations
    When alice.test posts "first"
    Then the firehose of PDS A shows a commit by alice.test
    And the firehose of PDS A shows a commit by alice.test creating app.bsky.feed.post
    When alice.test deletes their latest post
    Then the firehose of PDS A shows a commit by alice.test deleting app.bsky.feed.post

  Scenario: Each PDS streams only its own repositories
    Given a PDS named B
    And an account bob.test on PDS B
    When alice.test posts "on A"
    And bob.test posts "on B"
    Then the firehose of PDS A shows a commit by alice.test creating app.bsky.feed.post
    And the firehose of PDS A shows no commit by bob.test
    And the firehose of PDS B shows a commit by bob.test creating app.bsky.feed.post

  Scenario: Replaying from cursor 0 shows the whole history again
    Given an account bob.test on PDS A
    When alice.test posts "one"
    And alice.test posts "two"
    Then replaying the firehose of PDS A from cursor 0 shows 2 commits by alice.test creating app.bsky.feed.post
    And replaying the firehose of PDS A from cursor 0 shows no commits by bob.test creating app.bsky.feed.post

  Scenario: Then-steps look at what the latest When-steps caused
    Given alice.test posts "said before the action"
    When alice.test follows alice.test
    Then the firehose of PDS A shows a commit by alice.test creating app.bsky.graph.follow
    And the firehose of PDS A shows no commit by alice.test creating app.bsky.feed.post

  Scenario: "Has shown" looks at the whole scenario
    Given alice.test posts "said before the action"
    When alice.test follows alice.test
    Then the firehose of PDS A has shown a commit by alice.test creating app.bsky.feed.post
    And the firehose of PDS A has shown an identity event for alice.test
    And the firehose of PDS A has shown an account event for alice.test with status active
    And the firehose of PDS A shows no commit by alice.test creating app.bsky.feed.post
