Feature: An app that reads the relay's firehose
  The example feed generator, pointed at the relay instead of a PDS, sees
  posts from accounts on two PDSes. Its cursor counts the relay's events,
  so "does not show" waits until it has passed the relay's latest event.

  Background:
    Given a PDS named A
    And a PDS named B
    And a relay crawling PDS A and PDS B
    And an account alice.test on PDS A
    And an account bob.test on PDS B
    And the app relay-feedgen is running
    And alice.test publishes the feed whats-alf served by the app relay-feedgen

  Scenario: Posts from every crawled PDS reach the feed through the relay
    When bob.test posts "alf, from PDS B"
    And alice.test posts "alf, from PDS A"
    Then the feed whats-alf of alice.test shows bob.test's latest post
    And the feed whats-alf of alice.test shows alice.test's latest post
    When bob.test posts "nothing about him"
    Then the feed whats-alf of alice.test does not show bob.test's latest post
