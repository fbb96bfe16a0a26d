Feature: Accounts on one or more PDSes
  Accounts are created through the real createAccount endpoint; their DIDs
  are registered in the network's own PLC directory.

  Scenario: An account on a named PDS
    Given a PDS named A
    And an account alice.test on PDS A
    Then alice.test's handle resolves to their DID on PDS A
    And the DID document of alice.test names PDS A as its service endpoint
    And the DID document of alice.test claims the handle alice.test

  Scenario: Without a PDS named, accounts go to the only PDS (PDS A by default)
    Given an account alice.test
    Then alice.test's handle resolves to their DID on PDS A
    And PDS A offers handles ending in ".test"

  Scenario: A table of accounts across two PDSes sharing one PLC directory
    Given a PDS named A
    And a PDS named B
    And the following accounts:
      | handle     | pds |
      | alice.test | A   |
      | bob.test   | B   |
    Then alice.test's handle resolves to their DID on PDS A
    And bob.test's handle resolves to their DID on PDS B
    And the DID document of bob.test names PDS B as its service endpoint

  Scenario: The PDS refuses a handle outside its domains
    Given a PDS named A
    When alice.invalid tries to create an account on PDS A
    Then the request fails with error InvalidHandle
    And the request fails with status 400 and error InvalidHandle

  Scenario: The PDS refuses a handle that is taken
    Given a PDS named A
    And an account alice.test on PDS A
    When alice.test tries to create an account on PDS A
    Then the request fails with error InvalidRequest saying "Handle already taken"

  Scenario: Every scenario starts from an empty network
    When alice.test tries to create an account
    Then the request succeeds
