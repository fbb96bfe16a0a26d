Feature: Any XRPC method, called as an account
  Applications define their own lexicons; these steps call any query or
  procedure and check the output or the error.

  Background:
    Given an account alice.test

  Scenario: A query as the account
    When alice.test queries com.atproto.server.getSession
    Then the request succeeds
    And the response contains:
      """
      {"handle": "alice.test", "did": "${alice.test.did}"}
      """

  Scenario: A query with parameters
    Given alice.test posts "look me up"
    When alice.test queries com.atproto.repo.getRecord with:
      """
      {"repo": "${alice.test.did}", "collection": "app.bsky.feed.post", "rkey": "${alice.test.latest.rkey}"}
      """
    Then the response contains:
      """
      {"uri": "${alice.test.latest.uri}", "value": {"text": "look me up"}}
      """

  Scenario: A procedure with input
    When alice.test calls com.atproto.repo.createRecord with:
      """
      {"repo": "${alice.test.did}", "collection": "com.example.note", "record": {"$type": "com.example.note", "body": "hi"}}
      """
    Then the request succeeds
    And alice.test has 1 com.example.note record

  Scenario: The PDS validates records of lexicons it knows
    When alice.test tries to create a app.bsky.feed.post record:
      """
      {"text": 42, "createdAt": "${now}"}
      """
    Then the request fails with status 400 and error InvalidRequest
    And the request fails with error InvalidRequest saying "Expected string value type (got 42) at $.record.text"

  Scenario: Errors from a query and from a procedure
    When alice.test queries com.atproto.repo.getRecord with:
      """
      {"repo": "${alice.test.did}", "collection": "app.bsky.feed.post", "rkey": "3jzfcijpj2z2a"}
      """
    Then the request fails with status 400
    When alice.test calls com.atproto.repo.deleteRecord with:
      """
      {"repo": "did:plc:doesnotexist0000000000", "collection": "app.bsky.feed.post", "rkey": "x"}
      """
    Then the request fails with status 403 and error AccountNotFound
