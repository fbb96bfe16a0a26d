Feature: Jetstream on the relay
  Jetstream (github.com/bluesky-social/jetstream, built with go install on
  first use) reads the relay's firehose and serves JSON events, one per record
  operation, with collection filters. Apps that read Jetstream get its URL as
  ${jetstream.url}.

  Background:
    Given a PDS named A
    And a relay crawling PDS A
    And an account alice.test on PDS A
    And an account bob.test on PDS A
    And Jetstream on the relay

  Scenario: Creates, updates and deletes reach Jetstream
    When alice.test posts "hello, jetstream"
    And alice.test calls com.atproto.repo.putRecord with:
      """
      {"repo": "${alice.test.did}", "collection": "app.bsky.actor.profile", "rkey": "self",
       "record": {"$type": "app.bsky.actor.profile", "displayName": "Alice"}}
      """
    And alice.test calls com.atproto.repo.putRecord with:
      """
      {"repo": "${alice.test.did}", "collection": "app.bsky.actor.profile", "rkey": "self",
       "record": {"$type": "app.bsky.actor.profile", "displayName": "Alice, again"}}
      """
    And alice.test deletes their latest post
    Then Jetstream shows a create of app.bsky.feed.post by alice.test
    And Jetstream shows an update of app.bsky.actor.profile by alice.test
    And Jetstream shows a delete of app.bsky.feed.post by alice.test
    And Jetstream shows no create of app.bsky.feed.like by alice.test

  Scenario: Identity and account events, including those from before Jetstream started
    Then Jetstream has shown an identity event for alice.test
    And Jetstream has shown an account event for bob.test

  Scenario: A subscription filtered to one collection
    Given alice.test posts "like me"
    When bob.test likes alice.test's latest post
    And alice.test posts "one more"
    Then Jetstream filtered to app.bsky.feed.like shows a create of app.bsky.feed.like by bob.test
    And Jetstream filtered to app.bsky.feed.like shows no event by alice.test
