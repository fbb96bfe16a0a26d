Feature: Email confirmation and password reset with real emails
  The PDS sends its emails over SMTP to a capturing server on 127.0.0.1; the
  steps read the tokens out of the emails the PDS really sent.

  Background:
    Given a PDS named A that captures email
    And an account alice.test on PDS A

  Scenario: Confirming an email address
    Then alice.test's email is not confirmed
    When alice.test requests email confirmation
    Then alice.test receives an email
    And alice.test receives an email with subject "Email Confirmation"
    When alice.test confirms their email with the emailed token
    Then alice.test's email is confirmed

  Scenario: A wrong confirmation token is refused
    When alice.test requests email confirmation
    And alice.test tries to confirm their email with the token "AAAAA-BBBBB"
    Then the request fails with status 400 and error InvalidToken

  Scenario: Resetting a password
    When alice.test requests a password reset
    Then alice.test receives an email
    When alice.test resets their password to "n3w-secret" with the emailed token
    Then alice.test can sign in with password "n3w-secret"
    And alice.test can sign in

  Scenario: A reset token works once
    When alice.test requests a password reset
    And alice.test resets their password to "n3w-secret" with the emailed token
    And alice.test tries to reset their password to "an0ther-one" with the emailed token
    Then the request fails with error InvalidToken
    And alice.test can sign in with password "n3w-secret"
