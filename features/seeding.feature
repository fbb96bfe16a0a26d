Feature: Seeding a network from tables and documents
  Describe the state a scenario starts from in one step instead of many.

  Scenario: A table of posts creates the authors on demand
    Given the following posts:
      | author     | text             |
      | alice.test | Hello from Alice |
      | alice.test | Another post     |
      | bob.test   | Bob's first post |
    Then alice.test has 2 app.bsky.feed.post records
    And bob.test's latest post has text "Bob's first post"

  Scenario: A whole network in YAML, with placeholders
    Given the network described by:
      """
      pdses: [A, B]
      accounts:
        - {handle: alice.test, pds: A}
        - {handle: bob.test, pds: B}
      posts:
        - {author: alice.test, text: Hello from Alice}
      follows:
        - {follower: bob.test, subject: alice.test}
      likes:
        - {by: bob.test, post: alice.test}
      records:
        - author: bob.test
          collection: com.example.review
          record:
            reviewer: ${bob.test.did}
            subject: {uri: "${alice.test.latest.uri}", cid: "${alice.test.latest.cid}"}
      """
    Then bob.test follows alice.test
    And bob.test has 1 app.bsky.feed.like record
    And bob.test's latest com.example.review record contains:
      """
      {"reviewer": "${bob.test.did}", "subject": {"uri": "${alice.test.latest.uri}"}}
      """
    And the DID document of bob.test names PDS B as its service endpoint

  Scenario: The same in JSON
    Given the network described by:
      """
      {"accounts": ["carol.test"], "posts": [{"author": "carol.test", "text": "hi"}]}
      """
    Then carol.test has 1 app.bsky.feed.post record
