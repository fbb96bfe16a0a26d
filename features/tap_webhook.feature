Feature: An app fed by Tap's webhook, as the official Statusphere example runs it
  Tap tracks every account that writes the app's record type, keeps only
  that collection, and POSTs each event to the app with basic auth. The
  app learns handles from Tap's identity events: the network's real handles,
  which Tap verifies through the run's handle DNS.

  Background:
    Given a PDS named A
    And a relay crawling PDS A
    And an account alice.test on PDS A
    And an account bob.test on PDS A
    And Tap on the relay sending xyz.statusphere.status to the app statusphere at /api/webhook
    And the app statusphere is running

  Scenario: A status reaches the app with its author's handle
    When alice.test creates a xyz.statusphere.status record:
      """
      {"status": "👍", "createdAt": "${now}"}
      """
    Then the app statusphere logs "identity ${alice.test.did} is @alice.test"
    And the app statusphere logs "@alice.test set their status to 👍"

  Scenario: Every account that sets a status is tracked, posts are not sent
    When bob.test posts "not a status"
    And bob.test creates a xyz.statusphere.status record:
      """
      {"status": "🎉", "createdAt": "${now}"}
      """
    And alice.test creates a xyz.statusphere.status record:
      """
      {"status": "☕", "createdAt": "${now}"}
      """
    Then the app statusphere logs "@bob.test set their status to 🎉"
    And the app statusphere logs "@alice.test set their status to ☕"
