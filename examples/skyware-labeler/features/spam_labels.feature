Feature: A labeler built on @skyware/labeler labels spam
  labeler.mjs reads the PDS's firehose and labels posts that mention spam,
  through @skyware/labeler's LabelerServer, which signs and serves the
  labels. Its labels carry the library's own id field beside the lexicon's
  fields: checks accept it, and verify each signature over the lexicon's
  fields against the #atproto_label key in the labeler's DID document.

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

  Scenario: Labels survive a restart of the labeler
    When bob.test posts "spam after hours"
    And the app labeler is restarted
    Then the app labeler labels bob.test's latest post with spam
    And every label from the app labeler has a valid signature
