Feature: An AppView asked for by one scenario after its Background's PDS
  The Background makes a PDS and accounts (a network a snapshot could hold);
  one scenario adds an AppView after them. That scenario gets its AppView
  first and runs its Background in full; the other one is untouched.

  Background:
    Given a PDS named A
    And an account alice.test on PDS A
    And an account bob.test on PDS A

  Scenario: A scenario without an AppView
    When alice.test posts "no AppView here"
    Then alice.test has 1 app.bsky.feed.post record

  Scenario: A scenario whose AppView comes after the Background
    Given an AppView
    And bob.test follows alice.test
    When alice.test posts "seen through the AppView"
    Then bob.test's timeline shows alice.test's latest post
