Feature: The app under test runs beside the network
  A project declares its own services in atproto-bdd.toml; a scenario starts
  them on demand, on a loopback port, with a did:plc of their own in the
  network's PLC directory and the network's URLs in their environment.
  Requests to an app are checked like any other request.

  Background:
    Given a PDS named A
    And an account alice.test on PDS A

  Scenario: An app starts with its port, its DID and the network's URLs
    Given the app echo is running
    Then the app echo logs "listening on 127.0.0.1"
    And the app echo logs "firehose ws://localhost"
    When the app echo is sent GET /.well-known/did.json
    Then the request succeeds
    And the response contains:
      """
      {"id": "${app.echo.did}"}
      """

  Scenario: An account's PDS vouches for it with a service-auth token
    Given the app echo is running
    When alice.test queries app.bsky.feed.getFeedSkeleton on the app echo with:
      """
      {"feed": "at://${alice.test.did}/app.bsky.feed.generator/whats-alf"}
      """
    Then the request succeeds
    And the response contains:
      """
      {"feed": [], "cursor": "${alice.test.did}"}
      """
    And the app echo logs "skeleton for ${alice.test.did}"
    When app.bsky.feed.getFeedSkeleton is queried on the app echo with:
      """
      {"feed": "at://${alice.test.did}/app.bsky.feed.generator/whats-alf"}
      """
    Then the request fails with status 401 and error AuthRequired

  Scenario: A restart keeps the app's port, DID and environment
    Given the app echo is running with:
      | name     | value                     |
      | GREETING | hello ${alice.test.handle} |
    Then the app echo logs "hello alice.test"
    When the app echo is restarted
    Then the app echo logs "hello alice.test"
    When alice.test queries app.bsky.feed.getFeedSkeleton on the app echo
    Then the request succeeds
    And the app echo is running
    When the app echo is stopped
    Then the app echo is not running

  Scenario: A feed whose generator has a did:web is fetched the way an AppView fetches it
    Given the app echo-web is running
    And alice.test publishes the feed whats-alf served by the app echo-web
    Then the feed whats-alf of alice.test, as seen by alice.test, shows no posts
    And within 2 seconds, the app echo-web logs "skeleton for ${alice.test.did}"

  Scenario: An app with an image runs as a container on the Docker runtime, a process on the local one
    Given the app echo-image is running
    Then the app echo-image logs "listening on 127.0.0.1"
    And the app echo-image logs "firehose ws://localhost"
    When alice.test queries app.bsky.feed.getFeedSkeleton on the app echo-image
    Then the request succeeds
    And the response contains:
      """
      {"cursor": "${alice.test.did}"}
      """
    When the app echo-image is restarted
    Then the app echo-image is running
