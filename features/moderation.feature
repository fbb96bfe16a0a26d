@ozone
Feature: Moderation with Ozone: reports, takedowns and labels, applied by the AppView
  The network's Ozone (@atproto/ozone) receives the reports users make
  through their PDS, and its team acts through theirs, as in production.
  The PDS accepts Ozone's account takedowns, and the AppView applies its
  labels: a post Ozone takes down is hidden from every viewer.

  Background:
    Given an account alice.test
    And an account bob.test
    And an account carol.test
    And an account dave.test
    And Ozone moderated by carol.test
    And bob.test follows alice.test

  Scenario: A report opens a review; acknowledging it resolves it
    Given alice.test posts "buy followers now"
    When bob.test reports alice.test's latest post as spam
    Then Ozone has an open report on alice.test's latest post
    When carol.test acknowledges the report on alice.test's latest post
    Then the report on alice.test's latest post is resolved

  Scenario: A post taken down in Ozone disappears from the AppView
    Given alice.test posts "something awful"
    When bob.test reports alice.test's latest post as violation saying "this breaks the rules"
    Then bob.test's timeline shows alice.test's latest post
    When carol.test takes down alice.test's latest post in Ozone
    Then bob.test's timeline does not show alice.test's latest post
    And the label stream of Ozone shows !takedown on alice.test's latest post

  Scenario: A label from Ozone shows on the post in the AppView, until it is removed
    Given alice.test posts "a spicy picture"
    When carol.test labels alice.test's latest post with porn in Ozone
    Then the AppView shows alice.test's latest post to bob.test with the label porn
    And Ozone labels alice.test's latest post with porn
    And the label stream of Ozone shows porn on alice.test's latest post
    And every label from Ozone has a valid signature
    When carol.test removes the label porn from alice.test's latest post in Ozone
    Then the AppView shows alice.test's latest post to bob.test without the label porn
    And Ozone does not label alice.test's latest post with porn

  Scenario: An account taken down in Ozone is taken down on its PDS, and comes back when reversed
    Given alice.test posts "still here"
    When carol.test takes down alice.test in Ozone
    Then alice.test's account is takendown
    And signing in as alice.test fails with error AccountTakedown
    And bob.test's timeline does not show alice.test's latest post
    When carol.test reverses the takedown of alice.test in Ozone
    Then alice.test's account is active
    And alice.test can sign in
    And bob.test's timeline shows alice.test's latest post

  Scenario: A triage member may read reports but not take down
    Given dave.test moderates in Ozone as triage
    And alice.test posts "borderline"
    When bob.test reports alice.test as rude saying "rude replies"
    Then Ozone has an open report on alice.test
    When dave.test tries to take down alice.test in Ozone
    Then the request fails with error AuthenticationRequired saying "Must be a full moderator"
    And alice.test's account is active
