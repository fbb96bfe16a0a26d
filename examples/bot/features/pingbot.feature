Feature: pingbot answers a ping with a pong
  bot.py reads its PDS's firehose and answers posts that mention it: "ping"
  gets a reply "pong" in the thread and a like, "follow me" a follow,
  anything else nothing. The SDK's login() reads the bot's profile from the
  AppView, so the network has one.

  Background:
    Given an AppView
    And a PDS named A
    And an account alice.test on PDS A
    And the app pingbot is running

  Scenario: A ping gets a pong in the thread, and a like
    When alice.test posts "@pingbot.test ping"
    Then pingbot.test replies "pong" to alice.test's latest post
    And pingbot.test likes alice.test's latest post
    And pingbot.test's latest post has text "pong"

  Scenario: A ping deeper in a thread: the pong names the thread's root
    Given pingbot.test posts "I answer ping"
    When alice.test replies "@pingbot.test ping" to pingbot.test's latest post
    Then pingbot.test replies "pong" to alice.test's latest post

  Scenario: A mention without a ping gets no reply
    When alice.test posts "@pingbot.test hello there"
    Then pingbot.test does not reply to alice.test's latest post

  Scenario: A ping that mentions nobody is not for the bot
    When alice.test posts "ping"
    Then the app pingbot has caught up
    And pingbot.test has no app.bsky.feed.post records
    And pingbot.test has no app.bsky.feed.like records

  Scenario: Follow me
    When alice.test posts "follow me" mentioning pingbot.test
    Then pingbot.test follows alice.test
    And pingbot.test does not reply to alice.test's latest post
