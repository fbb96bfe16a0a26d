Feature: The PLC directory goes down for a while
  The PLC directory is where every did:plc is registered and resolved. When
  it is down, a PDS cannot create an account and nobody can resolve a DID
  they have not cached; its DIDs are kept, and it comes back on its URL.
  (The embedded runtime: the directory runs in the network's host.)

  Background:
    Given a PDS named A
    And an account alice.test on PDS A

  Scenario: New accounts fail while it is down and succeed once it is back
    When the PLC directory is down
    And bob.test tries to create an account on PDS A
    Then the request fails with status 502 and error UpstreamFailure
    When the PLC directory is up again
    And bob.test tries to create an account on PDS A
    Then the request succeeds
    And the DID document of bob.test names PDS A as its service endpoint
    And the DID document of alice.test names PDS A as its service endpoint

  Scenario: Down for 2 seconds: it comes back on its own, and the PDS goes on meanwhile
    When the PLC directory is down for 2 seconds
    And alice.test posts "the PDS does not need the directory to write"
    Then within 5 seconds, the DID document of alice.test names PDS A as its service endpoint
    And alice.test has 1 app.bsky.feed.post record
