Feature: The whats-alf feed shows posts about alf
  The feed generator reads the PDS's firehose and serves alice.test's feed
  whats-alf. Each check goes the way an AppView goes: the feed record names
  the generator's DID, the PLC directory names its endpoint, and the
  skeleton comes from there.

  Background:
    Given a PDS named A
    And an account alice.test on PDS A
    And an account bob.test on PDS A
    And an account carol.test on PDS A
    And the app feedgen is running
    And alice.test publishes the feed whats-alf served by the app feedgen

  Scenario: A post about alf shows in the feed
    When bob.test posts "alf is the best"
    Then the feed whats-alf of alice.test shows bob.test's latest post
    And the app feedgen logs "indexed at://${bob.test.did}/app.bsky.feed.post/"

  Scenario: A post about anything else does not
    When bob.test posts "cats are the best"
    Then the feed whats-alf of alice.test does not show bob.test's latest post
    And the feed whats-alf of alice.test shows no posts
    And the app feedgen does not log "indexed at://${bob.test.did}"

  Scenario: Viewers do not see their own posts
    When bob.test posts "alf forever"
    And carol.test posts "alf is back"
    Then the feed whats-alf of alice.test shows 2 posts
    And the feed whats-alf of alice.test, as seen by bob.test, shows 1 post
    And the feed whats-alf of alice.test, as seen by bob.test, does not show bob.test's latest post
    And the feed whats-alf of alice.test, as seen by bob.test, shows carol.test's latest post

  Scenario: A deleted post leaves the feed
    Given bob.test posts "alf, once"
    When bob.test deletes their latest post
    Then within 5 seconds, the feed whats-alf of alice.test shows no posts

  Scenario: Posts made while the generator was down are indexed after a restart
    When the app feedgen is stopped
    And bob.test posts "alf was here first"
    And the app feedgen is restarted
    Then the feed whats-alf of alice.test shows bob.test's latest post

  Scenario: It describes itself and refuses feeds it does not serve
    When app.bsky.feed.describeFeedGenerator is queried on the app feedgen
    Then the request succeeds
    And the response contains:
      """
      {"did": "${app.feedgen.did}", "feeds": [{"uri": "at://${alice.test.did}/app.bsky.feed.generator/whats-alf"}]}
      """
    When bob.test queries app.bsky.feed.getFeedSkeleton on the app feedgen with:
      """
      {"feed": "at://${alice.test.did}/app.bsky.feed.generator/whats-not"}
      """
    Then the request fails with status 400 and error UnsupportedAlgorithm

  Scenario: A skeleton asked for before the post shows it once the generator has it
    When carol.test queries app.bsky.feed.getFeedSkeleton on the app feedgen with:
      """
      {"feed": "at://${alice.test.did}/app.bsky.feed.generator/whats-alf"}
      """
    Then the response contains:
      """
      {"feed": []}
      """
    When bob.test posts "alf, after the first look"
    Then within 5 seconds, the response contains:
      """
      {"feed": [{"post": "${bob.test.latest.uri}"}]}
      """

  Scenario: Paging through the feed with the cursor it answers
    When bob.test posts "alf, one"
    And carol.test posts "alf, two"
    And alice.test queries app.bsky.feed.getFeedSkeleton on the app feedgen with:
      """
      {"feed": "at://${alice.test.did}/app.bsky.feed.generator/whats-alf", "limit": 1}
      """
    Then the response's feed has 1 item
    And the response contains:
      """
      {"feed": [{"post": "${carol.test.latest.uri}"}], "cursor": "1"}
      """
    When alice.test queries app.bsky.feed.getFeedSkeleton on the app feedgen with:
      """
      {"feed": "at://${alice.test.did}/app.bsky.feed.generator/whats-alf", "limit": 1, "cursor": "${response.cursor}"}
      """
    Then the response contains:
      """
      {"feed": [{"post": "${bob.test.latest.uri}"}]}
      """
    When alice.test queries app.bsky.feed.getFeedSkeleton on the app feedgen with:
      """
      {"feed": "at://${alice.test.did}/app.bsky.feed.generator/whats-alf", "limit": 1, "cursor": "${response.cursor}"}
      """
    Then the response's feed has no items
    And the response has no field cursor
