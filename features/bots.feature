Feature: Bots: apps that act as an account of their own
  features/apps/ping_bot.py signs in as pingbot.test with an app password
  (account = "pingbot.test" in its [apps.pingbot] table creates the account
  and gives it ${app.pingbot.app_password}), reads the firehose, answers
  "@pingbot.test ping" with a reply "pong" and a like, and "follow me" with
  a follow. Its GET /cursor proves when it has seen an action, so "does not
  reply" is a proof, not a pause.

  Background:
    Given a PDS named A
    And an account alice.test on PDS A
    And the app pingbot is running

  Scenario: A mention that says ping gets a pong, in the thread, and a like
    When alice.test posts "@pingbot.test ping"
    Then pingbot.test replies "pong" to alice.test's latest post
    And pingbot.test likes alice.test's latest post
    And pingbot.test's latest post has text "pong"
    And pingbot.test does not follow alice.test

  Scenario: A reply deeper in a thread names the thread's root
    Given pingbot.test posts "hello, I answer ping"
    When alice.test replies "@pingbot.test ping" to pingbot.test's latest post
    Then pingbot.test replies "pong" to alice.test's latest post

  Scenario: A post that does not mention the bot gets nothing, proved by its cursor
    When alice.test posts "ping, but to nobody"
    Then pingbot.test does not reply to alice.test's latest post
    And the app pingbot has caught up
    And pingbot.test has no app.bsky.feed.post records

  Scenario: A mention with text of your own, and a follow
    When alice.test posts "please follow me" mentioning pingbot.test
    Then pingbot.test follows alice.test
    And pingbot.test does not reply to alice.test's latest post
