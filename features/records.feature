Feature: Posts, follows, likes, reposts and custom records
  Accounts write records into their repositories on their PDS; the steps
  read them back from the PDS, never from memory.

  Background:
    Given a PDS named A
    And an account alice.test on PDS A
    And an account bob.test on PDS A

  Scenario: A post is stored in the author's repository
    When alice.test posts "Hello world"
    Then alice.test has 1 app.bsky.feed.post record
    And alice.test's latest post has text "Hello world"

  Scenario: Posts are counted, and deleting one removes it
    When alice.test posts "first"
    And alice.test posts "second"
    Then alice.test has 2 app.bsky.feed.post records
    When alice.test deletes their latest post
    Then alice.test has 1 app.bsky.feed.post record
    And alice.test's latest post has text "first"

  Scenario: Follows, likes and reposts point at the other account
    When alice.test posts "worth sharing"
    And bob.test follows alice.test
    And bob.test likes alice.test's latest post
    And bob.test reposts alice.test's latest post
    Then bob.test follows alice.test
    And bob.test has 1 app.bsky.graph.follow record
    And bob.test has 1 app.bsky.feed.like record
    And bob.test has 1 app.bsky.feed.repost record
    And bob.test's latest app.bsky.feed.like record contains:
      """
      {"subject": {"uri": "${alice.test.latest.uri}", "cid": "${alice.test.latest.cid}"}}
      """

  Scenario: A custom record with placeholders
    When alice.test creates a com.example.project record:
      """
      {"name": "atproto-bdd", "owner": "${alice.test.did}", "createdAt": "${now}"}
      """
    And bob.test creates a com.example.review record:
      """
      {
        "project": {"uri": "${alice.test.latest.uri}", "cid": "${alice.test.latest.cid}"},
        "reviewer": "${bob.test.did}",
        "stars": 5
      }
      """
    Then alice.test has 1 com.example.project record
    And bob.test's latest com.example.review record contains:
      """
      {"project": {"uri": "${alice.test.latest.uri}"}, "stars": 5}
      """
    And alice.test has no app.bsky.feed.post records

  Scenario: "latest" is the newest record in the repository, whoever wrote it
    When alice.test calls com.atproto.repo.createRecord with:
      """
      {"repo": "${alice.test.did}", "collection": "app.bsky.feed.post",
       "record": {"$type": "app.bsky.feed.post", "text": "written by a raw call", "createdAt": "${now}"}}
      """
    Then alice.test's latest post has text "written by a raw call"
    And alice.test's latest app.bsky.feed.post record contains:
      """
      {"text": "written by a raw call"}
      """

  Scenario: A post's mentions and links become facets, as clients make them
    When alice.test posts "🦋 hi @bob.test, see https://example.com/a."
    Then alice.test's latest post has text "🦋 hi @bob.test, see https://example.com/a."
    And alice.test's latest app.bsky.feed.post record contains:
      """
      {"facets": [
        {"index": {"byteStart": 8, "byteEnd": 17},
         "features": [{"$type": "app.bsky.richtext.facet#mention", "did": "${bob.test.did}"}]},
        {"index": {"byteStart": 23, "byteEnd": 44},
         "features": [{"$type": "app.bsky.richtext.facet#link", "uri": "https://example.com/a"}]}
      ]}
      """
