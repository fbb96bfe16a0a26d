Feature: Faults between an app and the relay
  The example feed generator reads the relay's firehose through a proxy of
  its own (relay-feedgen-proxied: faults = true), so these steps break or
  slow that link while the framework reads the relay directly. Whatever
  happens to the link, every post about alf reaches the feed: the generator
  subscribes again from the relay cursor it saved.

  Background:
    Given a PDS named A
    And a relay crawling PDS A
    And an account alice.test on PDS A
    And an account bob.test on PDS A
    And the app relay-feedgen-proxied is running
    And alice.test publishes the feed whats-alf served by the app relay-feedgen-proxied

  Scenario: The relay is out of reach for 3 seconds
    Given bob.test posts "alf, before the outage"
    And the app relay-feedgen-proxied has caught up
    When the app relay-feedgen-proxied cannot reach the relay for 3 seconds
    And bob.test posts "alf, while the relay was out of reach"
    Then the app relay-feedgen-proxied reconnected to the relay
    And the app relay-feedgen-proxied resumed the relay firehose from its cursor
    And the feed whats-alf of alice.test shows bob.test's latest post

  Scenario: A thin link to the relay still carries every post
    Given the link from the app relay-feedgen-proxied to the relay is limited to 10 KB/s
    When bob.test posts "alf, through a thin link"
    And bob.test posts "alf, again"
    Then the feed whats-alf of alice.test shows 2 posts

  Scenario: The connection to the relay drops
    Given bob.test posts "alf, before the drop"
    And the app relay-feedgen-proxied has caught up
    When the connection from the app relay-feedgen-proxied to the relay drops
    And bob.test posts "alf, after the drop"
    Then the app relay-feedgen-proxied reconnected to the relay
    And the app relay-feedgen-proxied resumed the relay firehose from its cursor
    And the feed whats-alf of alice.test shows bob.test's latest post
