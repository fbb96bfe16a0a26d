@appview
Feature: What a Bluesky client shows, from the AppView
  The network's AppView (@atproto/bsky) indexes every PDS, and each PDS
  proxies app.bsky.* to it, as in production. Checks wait until the AppView
  has indexed what the PDSes sequenced, so "does not show" is proved, not
  timed.

  Background:
    Given an AppView
    And a PDS named A
    And an account alice.test on PDS A
    And an account bob.test on PDS A
    And an account carol.test on PDS A

  Scenario: A follower sees a post in their timeline, others do not
    Given bob.test follows alice.test
    When alice.test posts "hello, followers"
    Then bob.test's timeline shows alice.test's latest post
    And carol.test's timeline does not show alice.test's latest post
    And alice.test's profile shows 1 follower
    And bob.test's profile shows 1 follows
    And alice.test's profile shows 1 post

  Scenario: Profiles show the handles the AppView verified with their PDS
    Then bob.test finds alice.test's profile by its handle
    And alice.test finds carol.test's profile by its handle

  Scenario: Likes, reposts and replies are counted and notified
    Given alice.test posts "count me"
    When bob.test likes alice.test's latest post
    And carol.test reposts alice.test's latest post
    And bob.test replies "nice" to alice.test's latest post
    Then alice.test's latest post has 1 like
    And alice.test's latest post has 1 repost
    And alice.test's latest post has 1 reply
    And the thread of alice.test's latest post shows the reply by bob.test
    And alice.test has a like notification from bob.test
    And alice.test has a repost notification from carol.test
    And alice.test has a reply notification from bob.test

  Scenario: Follows, mentions and quotes notify
    Given alice.test posts "quote me"
    When bob.test follows alice.test
    And carol.test mentions alice.test in a post
    And bob.test quotes alice.test's latest post saying "look at this"
    Then alice.test has a follow notification from bob.test
    And alice.test has a mention notification from carol.test
    And alice.test has a quote notification from bob.test

  Scenario: A block and a mute hide posts from the timeline
    Given bob.test follows alice.test
    And bob.test follows carol.test
    When bob.test blocks alice.test
    And bob.test mutes carol.test
    And alice.test posts "you will not see this"
    And carol.test posts "nor this"
    Then bob.test's timeline does not show alice.test's latest post
    And bob.test's timeline does not show carol.test's latest post

  Scenario: A custom feed, seen through the AppView, comes from the feed generator
    Given the app feedgen is running
    And alice.test publishes the feed whats-alf served by the app feedgen
    When carol.test posts "alf, through the AppView"
    Then bob.test's view of the feed whats-alf of alice.test shows carol.test's latest post
