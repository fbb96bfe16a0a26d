Feature: The no-spam labeler labels spam
  The labeler reads the PDS's firehose and labels posts about spam, and
  accounts that post it twice. Checks read its labels the way clients do:
  queryLabels, the subscribeLabels stream, and each label's signature
  against the #atproto_label key in its DID document.

  Background:
    Given a PDS named A
    And an account bob.test on PDS A
    And an account carol.test on PDS A
    And the app labeler is running

  Scenario: A post about spam is labelled, and the label is signed
    When bob.test posts "cheap spam, buy now"
    Then the app labeler labels bob.test's latest post with spam
    And the label stream of the app labeler shows spam on bob.test's latest post
    And every label from the app labeler has a valid signature
    And the app labeler logs "labelled at://${bob.test.did}/app.bsky.feed.post/"

  Scenario: A harmless post is not labelled
    When carol.test posts "hello, world"
    Then the app labeler does not label carol.test's latest post with spam
    And the app labeler does not label carol.test with spam

  Scenario: Two posts about spam label the account
    When bob.test posts "spam one"
    Then the app labeler does not label bob.test with spam
    When bob.test posts "spam two"
    Then the app labeler labels bob.test with spam
    And the label stream of the app labeler shows spam on bob.test

  Scenario: Deleting a post withdraws its labels
    Given bob.test posts "spam one"
    And bob.test posts "spam two"
    When bob.test deletes their latest post
    Then the app labeler does not label bob.test with spam
    And the app labeler labels bob.test's latest post with spam
    And every label from the app labeler has a valid signature

  Scenario: Labels survive a restart of the labeler
    When bob.test posts "spam after hours"
    And the app labeler is restarted
    Then the app labeler labels bob.test's latest post with spam
    And the label stream of the app labeler shows spam on bob.test's latest post
