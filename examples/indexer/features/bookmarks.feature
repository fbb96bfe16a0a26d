Feature: The bookmarks indexer serves what people bookmark, in order, across PDSes and restarts
  indexer.py reads the relay's firehose and answers com.example.getBookmarks
  and com.example.countBookmarks (its lexicons are in lexicons/). Each query
  step waits until the indexer's cursor has passed what came before it, so
  a query right after a write asks an indexer that has seen it.

  Background:
    Given a PDS named A
    And a PDS named B
    And a relay crawling PDS A and PDS B
    And an account alice.test on PDS A
    And an account bob.test on PDS B
    And the app indexer is running

  Scenario: Bookmarks from two PDSes, newest first, valid against the lexicon
    When alice.test creates a com.example.bookmark record with:
      | field | value                   |
      | url   | https://atproto.com     |
      | title | The AT Protocol         |
    And bob.test creates a com.example.bookmark record with:
      | field | value                   |
      | url   | https://bsky.app        |
    And alice.test queries com.example.getBookmarks on the app indexer
    Then the response's bookmarks has 2 items
    And the response contains:
      """
      {"bookmarks": [{"author": "${bob.test.did}", "url": "https://bsky.app"},
                     {"author": "${alice.test.did}", "title": "The AT Protocol"}]}
      """
    And the response is valid against its lexicon
    And every record written in this scenario is valid against its lexicon

  Scenario: Paging with the cursor the indexer answers
    Given alice.test creates a com.example.bookmark record as "one":
      """
      {"url": "https://one.example", "createdAt": "2026-01-01T00:00:00.000Z"}
      """
    And alice.test creates a com.example.bookmark record as "two":
      """
      {"url": "https://two.example", "createdAt": "2026-01-02T00:00:00.000Z"}
      """
    When com.example.getBookmarks is queried on the app indexer with:
      """
      {"limit": 1}
      """
    Then the response contains:
      """
      {"bookmarks": [{"uri": "${records.two.uri}"}], "cursor": "1"}
      """
    When com.example.getBookmarks is queried on the app indexer with:
      """
      {"limit": 1, "cursor": "${response.cursor}"}
      """
    Then the response contains:
      """
      {"bookmarks": [{"uri": "${records.one.uri}"}]}
      """

  Scenario: An update and a delete reach the index
    Given alice.test creates a com.example.bookmark record as "kept":
      """
      {"url": "https://kept.example", "createdAt": "${now}"}
      """
    And alice.test creates a com.example.bookmark record as "gone":
      """
      {"url": "https://gone.example", "createdAt": "${now}"}
      """
    When alice.test updates her latest com.example.bookmark record with:
      """
      {"title": "renamed"}
      """
    And alice.test deletes the record "kept"
    And com.example.getBookmarks is queried on the app indexer
    Then the response's bookmarks has 1 item
    And the response contains:
      """
      {"bookmarks": [{"uri": "${records.gone.uri}", "title": "renamed"}]}
      """
    And no item of the response's bookmarks contains:
      """
      {"uri": "${records.kept.uri}"}
      """

  Scenario: Bookmarks made while the indexer was down are there after its restart
    Given alice.test creates a com.example.bookmark record with:
      | field | value               |
      | url   | https://before.example |
    And the app indexer has caught up
    When the app indexer is stopped
    And bob.test creates a com.example.bookmark record with:
      | field | value                 |
      | url   | https://while-down.example |
    # The relay has it before the indexer is back: only its saved cursor can bring it to the indexer now.
    Then the relay firehose shows a commit by bob.test creating com.example.bookmark
    When the app indexer is restarted
    And com.example.countBookmarks is queried on the app indexer
    Then the response contains:
      """
      {"count": 2}
      """

  Scenario: A record without its url is skipped, and the lexicon says why
    When alice.test creates a com.example.bookmark record:
      """
      {"title": "no url", "createdAt": "${now}"}
      """
    And com.example.countBookmarks is queried on the app indexer
    Then the response contains:
      """
      {"count": 0}
      """
    And the app indexer logs "skipped invalid record at://${alice.test.did}/com.example.bookmark/"
    And alice.test's latest com.example.bookmark record is not valid, saying "Record must have the property \"url\""
    And the app indexer does not log "Traceback"
