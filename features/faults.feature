Feature: Faults between an app and the network
  The bot features/apps/ping_bot.py declared as pingbot-proxied has faults =
  true: its env's ${A.url} points at a proxy of its own (Toxiproxy), so these
  steps break its link to PDS A while the framework's own requests go
  straight to the PDS. The bot subscribes again from its cursor when its
  firehose connection breaks, so nothing it should answer is lost.

  Background:
    Given a PDS named A
    And an account alice.test on PDS A
    And the app pingbot-proxied is running

  Scenario: A dropped connection: the bot reconnects and still answers
    Given alice.test posts "a post the bot reads past"
    And the app pingbot-proxied has caught up
    When the connection from the app pingbot-proxied to PDS A drops
    And alice.test posts "@pingbot.test ping"
    Then the app pingbot-proxied reconnected to PDS A
    And the app pingbot-proxied resumed the firehose of PDS A from its cursor
    And pingbot.test replies "pong" to alice.test's latest post

  Scenario: An outage: what was posted meanwhile is answered once the link is back
    When the app pingbot-proxied cannot reach PDS A
    And alice.test posts "@pingbot.test ping"
    Then pingbot.test has no app.bsky.feed.post records
    When the app pingbot-proxied can reach PDS A again
    Then the app pingbot-proxied reconnected to PDS A
    And pingbot.test replies "pong" to alice.test's latest post

  Scenario: A slow link still gets there
    Given 300 ms of latency from the app pingbot-proxied to PDS A
    When alice.test posts "@pingbot.test ping"
    Then pingbot.test replies "pong" to alice.test's latest post

  Scenario: Its PDS restarts: the bot resumes from its cursor and answers what came meanwhile
    When alice.test posts "a post the bot reads past"
    Then the app pingbot-proxied has caught up
    When PDS A restarts
    And alice.test posts "@pingbot.test ping"
    Then the app pingbot-proxied resumed the firehose of PDS A from its cursor
    And pingbot.test replies "pong" to alice.test's latest post
    And pingbot.test likes alice.test's latest post

  Scenario: The relay restarts: it picks up its PDSes again and its firehose goes on
    Given a relay crawling PDS A
    And alice.test posts "before the relay restarts"
    When the relay restarts
    And alice.test posts "after the relay restarted"
    Then the relay firehose shows a commit by alice.test creating app.bsky.feed.post
    And the relay firehose numbers its events in increasing order
