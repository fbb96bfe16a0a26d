Feature: What differs between the PDS lines
  A run uses one PDS line (-D pds_version=0.4, the default, or 0.5). Where
  the PDS itself answers differently, a scenario tagged @pds:0.4 or @pds:0.5
  runs only on that line; CI runs this suite on both. The guide's table
  "what changes for your suite between 0.4 and 0.5" lists every difference.

  Background:
    Given an account alice.test

  @pds:0.4
  Scenario: PDS 0.4 answers InvalidRequest for a handle nobody has
    When alice.test queries com.atproto.identity.resolveHandle with:
      """
      {"handle": "nobody.test"}
      """
    Then the request fails with status 400 and error InvalidRequest

  @pds:0.5
  Scenario: PDS 0.5 answers HandleNotFound for a handle nobody has
    When alice.test queries com.atproto.identity.resolveHandle with:
      """
      {"handle": "nobody.test"}
      """
    Then the request fails with status 400 and error HandleNotFound

  @pds:0.5
  Scenario: PDS 0.5 tells clients how large a blob may be
    When alice.test queries com.atproto.server.describeServer
    Then the request succeeds
    And the response contains:
      """
      {"availableUserDomains": [".test"]}
      """
    And the response has the field blobUploadLimit

  Scenario: Both lines resolve a handle they host
    When alice.test queries com.atproto.identity.resolveHandle with:
      """
      {"handle": "alice.test"}
      """
    Then the response contains:
      """
      {"did": "${alice.test.did}"}
      """
