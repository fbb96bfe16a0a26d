Feature: Account lifecycle and moderation
  Accounts are deactivated and reactivated by their owners, taken down and
  restored by the PDS admin, and deleted for good with an emailed token.

  Background:
    Given a PDS named A that captures email
    And an account alice.test on PDS A

  Scenario: Deactivating and reactivating an account
    When alice.test deactivates their account
    Then alice.test's account is deactivated
    And the firehose of PDS A shows an account event for alice.test with status deactivated
    When alice.test reactivates their account
    Then alice.test's account is active
    And alice.test can sign in

  Scenario: A takedown by the admin blocks sign-in until it is reversed
    When the admin of PDS A takes down alice.test
    Then signing in as alice.test fails with error AccountTakedown
    And alice.test's account is takendown
    And the firehose of PDS A shows an account event for alice.test with status takendown
    When the admin of PDS A restores alice.test
    Then alice.test can sign in
    And alice.test's account is active

  Scenario: Deleting an account with the emailed token
    When alice.test deletes their account
    Then alice.test's repository is gone
    And the firehose of PDS A shows an account event for alice.test with status deleted

  Scenario: A wrong password is refused with the PDS's own error
    Then signing in as alice.test with password "not-her-password" fails with error AuthenticationRequired
