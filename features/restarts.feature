Feature: Services restart, keeping their data and ports
  A process fault on a service itself: it stops and starts again on its data
  and URL, its consumers see a disconnect, and what it serves goes on. The
  checks read the services through recorders that resume from their cursors,
  so they also prove each event comes once: no replay, no gap.

  Scenario: Jetstream restarts: it resumes the relay from its own cursor
    Given a PDS named A
    And a relay crawling PDS A
    And an account alice.test on PDS A
    And an account bob.test on PDS A
    And Jetstream on the relay
    When alice.test posts "before Jetstream restarts"
    Then Jetstream shows a create of app.bsky.feed.post by alice.test
    When Jetstream restarts
    And bob.test likes alice.test's latest post
    And alice.test posts "after Jetstream restarts"
    Then Jetstream shows a create of app.bsky.feed.post by alice.test
    And Jetstream filtered to app.bsky.feed.like shows a create of app.bsky.feed.like by bob.test
    And Jetstream has shown an account event for bob.test
    And Jetstream has shown no event twice

  Scenario: The relay restarts under Jetstream: Jetstream restarts with it and goes on
    Given a PDS named A
    And a relay crawling PDS A
    And an account alice.test on PDS A
    And Jetstream on the relay
    When alice.test posts "before the relay restarts"
    Then Jetstream shows a create of app.bsky.feed.post by alice.test
    When the relay restarts
    And alice.test posts "after the relay restarts"
    Then Jetstream shows a create of app.bsky.feed.post by alice.test
    And Jetstream has shown no event twice

  Scenario: Tap restarts: tracked accounts, outbox and cursor survive
    Given a PDS named A
    And a relay crawling PDS A
    And an account alice.test on PDS A
    And an account bob.test on PDS A
    And Tap tracking alice.test
    When alice.test posts "before Tap restarts"
    Then Tap delivers a create of app.bsky.feed.post by alice.test
    When Tap restarts
    And alice.test posts "after Tap restarts"
    And bob.test posts "nobody tracks me"
    Then Tap delivers a create of app.bsky.feed.post by alice.test
    And Tap delivers no event for bob.test
    And Tap has delivered no event twice

  Scenario: The AppView restarts: what it indexed stays, and it indexes what comes after
    Given an AppView
    And a PDS named A
    And an account alice.test on PDS A
    And an account bob.test on PDS A
    And bob.test follows alice.test
    And alice.test posts "before the AppView restarts"
    When the AppView restarts
    Then bob.test's timeline shows alice.test's latest post
    When alice.test posts "after the AppView restarted"
    And bob.test likes alice.test's latest post
    Then bob.test's timeline shows alice.test's latest post
    And alice.test's latest post has 1 like
    And alice.test's profile shows 2 posts
