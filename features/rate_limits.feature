Feature: Rate limits as in production
  A PDS with rate limits on refuses clients that exceed their budget; the
  framework's own set-up calls carry a bypass key and never spend it.

  Background:
    Given a PDS named A with rate limits
    And an account alice.test on PDS A
    And an account bob.test on PDS A

  Scenario: Signing in too often is refused with 429
    When alice.test exhausts the createSession rate limit
    Then signing in as alice.test fails with status 429 and error RateLimitExceeded

  Scenario: The sign-in budget is kept per account
    When alice.test exhausts the createSession rate limit
    Then bob.test can sign in
