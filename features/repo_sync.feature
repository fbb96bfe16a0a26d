Feature: Repository exports, signatures and blobs
  Relays and indexers read whole repositories as CAR files and check them
  against the account's signing key; apps store images and files as blobs.

  Background:
    Given a PDS named A
    And an account alice.test on PDS A

  Scenario: The exported repository holds the records, under a valid signature
    When alice.test posts "one"
    And alice.test posts "two"
    And alice.test follows alice.test
    Then the exported repo of alice.test contains 2 app.bsky.feed.post records
    And the exported repo of alice.test contains 1 app.bsky.graph.follow record
    And the exported repo of alice.test has a valid commit signature

  Scenario: Deleting a record removes it from the next export
    When alice.test posts "short-lived"
    And alice.test deletes their latest post
    Then the exported repo of alice.test contains no app.bsky.feed.post records
    And the exported repo of alice.test has a valid commit signature

  Scenario: A blob used by a record downloads unchanged
    When alice.test uploads a 2048 byte image/png blob
    Then the latest blob of alice.test downloads unchanged

  Scenario: A blob no record uses is not served
    When alice.test uploads a 512 byte image/jpeg blob without using it
    Then the latest blob of alice.test cannot be downloaded
