Feature: OAuth with DPoP
  Client applications sign users in through the PDS's own authorization
  server: a pushed authorization request with PKCE, sign-in and consent on the
  authorization page, and DPoP-bound tokens that are useless without the key.

  Background:
    Given a PDS named A
    And an account alice.test on PDS A

  Scenario: Signing in and posting with DPoP-bound tokens
    When alice.test signs in with OAuth
    Then alice.test's OAuth session can create a post
    And alice.test has 1 app.bsky.feed.post record
    And a request with alice.test's OAuth access token but without a DPoP proof fails with status 401

  Scenario: Refreshing and revoking a session
    When alice.test signs in with OAuth
    And alice.test's OAuth tokens are refreshed
    Then alice.test's OAuth session works
    And alice.test's OAuth session can create a post
    When alice.test's OAuth session is revoked
    Then alice.test's OAuth session is rejected

  Scenario: A wrong password is refused on the authorization page
    When alice.test tries to sign in with OAuth with password "not-her-password"
    Then the request fails with status 400 and error invalid_request
    And the request fails with error invalid_request saying "Invalid identifier or password"

  Scenario: An unknown account cannot sign in
    When nobody.test tries to sign in with OAuth on PDS A
    Then the request fails with status 400 and error invalid_request
