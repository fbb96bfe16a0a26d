Feature: whats-alf loses no post when the network misbehaves
  The generator reads PDS A's firehose through a proxy of its own (faults =
  true in atproto-bdd.toml), so these steps can break that link while the
  checks go straight to the PDS. Whatever breaks, it must subscribe again
  from the cursor it saved: not from 0 (it would replay everything), not
  without one (what came meanwhile would be lost). tests/test_resilience.py
  shows that these scenarios fail, and say why, for generators that do not.

  Background:
    Given a PDS named A
    And an account alice.test on PDS A
    And an account bob.test on PDS A
    And an account carol.test on PDS A
    And the app feedgen is running
    And alice.test publishes the feed whats-alf served by the app feedgen
    And bob.test posts "alf, before anything broke"
    And the app feedgen has caught up

  Scenario: Its firehose connection drops
    When the connection from the app feedgen to PDS A drops
    And bob.test posts "alf, right after the drop"
    Then the app feedgen reconnected to PDS A
    And the app feedgen resumed the firehose of PDS A from its cursor
    And the feed whats-alf of alice.test shows 2 posts

  Scenario: It cannot reach its PDS for a while
    When the app feedgen cannot reach PDS A for 2 seconds
    And bob.test posts "alf, during the outage"
    And carol.test posts "alf, also during the outage"
    Then the app feedgen reconnected to PDS A
    And the app feedgen resumed the firehose of PDS A from its cursor
    And the feed whats-alf of alice.test shows 3 posts

  Scenario: Its PDS restarts
    When PDS A restarts
    And bob.test posts "alf, after the restart"
    Then the app feedgen resumed the firehose of PDS A from its cursor
    And the feed whats-alf of alice.test shows 2 posts

  Scenario: A slow link still gets every post there
    Given 200 ms of latency from the app feedgen to PDS A
    When bob.test posts "alf, slowly"
    Then the feed whats-alf of alice.test shows 2 posts

  Scenario: It is killed and started again
    When the app feedgen is killed
    And bob.test posts "alf, while it was dead"
    And the app feedgen is restarted
    Then the app feedgen resumed the firehose of PDS A from its cursor
    And the feed whats-alf of alice.test shows 2 posts
