@network:feature
Feature: Scenarios of a feature can share one network
  The @network:feature tag keeps one network for the whole feature: what one
  scenario creates, the next one sees. Given-steps are idempotent there, so a
  Background can declare the PDS and accounts every scenario needs.

  Background:
    Given a PDS named A
    And an account alice.test on PDS A

  Scenario: The first scenario posts
    When alice.test posts "still here"
    Then alice.test has 1 app.bsky.feed.post record

  Scenario: The second scenario sees the first one's post
    Then alice.test has 1 app.bsky.feed.post record
    And alice.test's latest post has text "still here"
