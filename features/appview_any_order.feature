Feature: The AppView wherever its step stands
  People write Given-steps in the order they think of them. A network's
  PDSes are configured with its AppView, so the hooks start the AppView
  first whenever a scenario or its Background has `Given an AppView`, and
  the step then finds it running.

  Background:
    Given a PDS named A
    And an account alice.test on PDS A
    And an account bob.test on PDS A
    And an AppView

  Scenario: An AppView declared after the PDS and its accounts indexes them
    Given bob.test follows alice.test
    When alice.test posts "hello, followers"
    Then bob.test's timeline shows alice.test's latest post
    And bob.test's profile shows 1 follow
    And bob.test's profile shows 1 following
    And alice.test's profile shows 1 follower

  Scenario: Handles resolve through an AppView declared last
    Then bob.test finds alice.test's profile by its handle
