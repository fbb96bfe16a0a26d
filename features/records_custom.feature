Feature: Records of your own collections: created, updated, deleted by steps
  An app's own record type goes through the same steps as posts: the
  PDS stores a collection it has no lexicon for as it is.

  Background:
    Given a PDS named A
    And an account alice.test on PDS A

  Scenario: A bookmark is created, updated in place and deleted
    When alice.test creates a com.example.bookmark record:
      """
      {"url": "https://example.com", "title": "first"}
      """
    And alice.test updates their latest com.example.bookmark record to:
      """
      {"url": "https://example.com", "title": "renamed"}
      """
    Then alice.test has 1 com.example.bookmark record
    And alice.test's latest com.example.bookmark record contains:
      """
      {"title": "renamed"}
      """
    And the firehose of PDS A shows a commit by alice.test updating com.example.bookmark
    When alice.test deletes their latest com.example.bookmark record
    Then alice.test has no com.example.bookmark records
    And the firehose of PDS A shows a commit by alice.test deleting com.example.bookmark

  Scenario: Named records, a merged update, and the list the PDS answers
    When alice.test creates a com.example.bookmark record as "first":
      """
      {"url": "https://one.example", "title": "one"}
      """
    And alice.test creates a com.example.bookmark record as "second":
      """
      {"url": "https://two.example", "title": "two"}
      """
    And alice.test updates her latest com.example.bookmark record with:
      """
      {"title": "two, renamed"}
      """
    And alice.test queries com.atproto.repo.listRecords with:
      """
      {"repo": "${alice.test.did}", "collection": "com.example.bookmark"}
      """
    Then the response's records has 2 items
    And the response's records contains, in any order:
      """
      [{"uri": "${records.first.uri}", "value": {"title": "one"}},
       {"uri": "${records.second.uri}", "value": {"url": "https://two.example", "title": "two, renamed"}}]
      """
    And no item of the response's records contains:
      """
      {"value": {"title": "two"}}
      """
    And the response does not contain:
      """
      {"records": [{"value": {"title": "two"}}, {"value": {"title": "one"}}]}
      """
    When alice.test deletes the record "first"
    Then alice.test has 1 com.example.bookmark record
    And the firehose of PDS A shows a commit by alice.test deleting com.example.bookmark
