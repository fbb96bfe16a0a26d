Feature: Mistakes in feature files get a clear, one-line cause
  A QA engineer who mistypes a name, a handle or a docstring sees which step
  failed, the bad value and what would have been valid - not a traceback.
  These scenarios run behave on a small project and read what it prints.

  Scenario: Unknown names, bad JSON and unknown placeholders
    Given a behave project with the feature:
      """
      Feature: mistakes
        Scenario: unknown PDS
          Given a PDS named A
          And an account alice.test on PDS Z

        Scenario: unknown account
          Given an account alice.test
          When bob.test posts "hi"

        Scenario: handle the PDS refuses
          Given an account alice.example

        Scenario: malformed JSON
          Given an account alice.test
          When alice.test creates a com.example.project record:
            '''
            {"name": "x",
             "stars": 5,,}
            '''

        Scenario: unknown placeholder
          Given an account alice.test
          When alice.test creates a com.example.project record:
            '''
            {"owner": "${alice.test.dud}"}
            '''

        Scenario: handle that is not a handle
          Given an account alice
      """
    When behave runs on it
    Then the run fails
    And the output contains:
      """
      And an account alice.test on PDS Z
      unknown PDS 'Z'; known PDSs: A (declare it first: Given a PDS named Z)
      When bob.test posts "hi"
      unknown account 'bob.test'; known accounts: alice.test (create it first: Given an account bob.test)
      POST com.atproto.server.createAccount: 400 InvalidHandle
      the JSON docstring is not valid JSON: Expecting property name enclosed in double quotes at line 2, column 13
      unknown placeholder ${alice.test.dud}; known placeholders: ${now}, ${plc.url}, ${A.url}, ${A.did}, ${A.ws_url}, ${alice.test.did}
      undefined step 'Given an account alice': 'alice' is not a valid Handle (expected a handle such as alice.test
      """
    And the output does not contain a traceback

  Scenario: Consecutive accounts are created together, and a refused one fails its own step
    Given a behave project with the feature:
      """
      Feature: together
        Scenario: three accounts in a row
          Given a PDS named A
          And an account alice.test on PDS A
          And an account bob.example on PDS A
          And an account carol.test on PDS A
      """
    When behave runs on it
    Then the run fails
    And the output contains:
      """
      And an account alice.test on PDS A ... passed
      And an account bob.example on PDS A ... failed
      POST com.atproto.server.createAccount: 400 InvalidHandle
      """
    And the output does not contain a traceback

  Scenario: A missing Node.js is named, with what to install
    Given a behave project with the feature:
      """
      Feature: no node
        Scenario: needs the network
          Given a PDS named A
      """
    When behave runs on it with -D node=/nowhere/node
    Then the run fails
    And the output contains:
      """
      HOOK-ERROR in before_all: InstallError: node is required but `/nowhere/node` (the node setting) was not found
      """

  Scenario: Services that miss their start-up deadline say so, with the host's log
    Given a behave project with the feature:
      """
      Feature: too slow
        Scenario: needs the network
          Given a PDS named A
      """
    When behave runs on it with -D service_timeout=0.01
    Then the run fails
    # 'hello' or 'warm' in before_all, or 'pds.start' in the step when a host launched while behave loaded (the
    # prestart setting) was ready in time: either way the deadline is named with the host's log
    And the output contains:
      """
      the network host did not answer '
      """
    And the output contains:
      """
      within 0.01s; its log ends with:
      """

  Scenario: Firehose and seeding mistakes
    Given a behave project with the feature:
      """
      Feature: stream mistakes
        Background:
          Given a PDS named A
          And an account alice.test on PDS A

        Scenario: malformed cursor
          Then replaying the firehose of PDS A from cursor latest shows 1 commit by alice.test creating app.bsky.feed.post

        Scenario: cursor in the future
          Then replaying the firehose of PDS A from cursor 99999 shows 1 commit by alice.test creating app.bsky.feed.post

        Scenario: unknown event type
          Then the firehose of PDS A shows a handle event for alice.test

        Scenario: an event that never comes
          Then the firehose of PDS A shows a commit by alice.test creating app.bsky.feed.like

        Scenario: malformed YAML
          Given the network described by:
            '''
            accounts: [alice.test
            '''

        Scenario: unknown section
          Given the network described by:
            '''
            people: [carol.test]
            '''

        Scenario: relay for a PDS that does not exist
          Given a relay crawling PDS A and PDS Z

        Scenario: relay steps without a relay
          Then the relay firehose shows a commit by alice.test

        Scenario: an event that came before the When-steps
          When alice.test posts "after the account"
          Then the firehose of PDS A shows an identity event for alice.test
      """
    When behave runs on it with -D firehose_timeout=1
    Then the run fails
    And the output contains:
      """
      cursor 'latest' is not a sequence number (expected a non-negative integer, 0 = oldest)
      FutureCursor: Cursor in the future.
      unknown firehose event type 'handle'; known types: commit, identity, account, sync
      the firehose of PDS A did not show a commit by alice.test creating app.bsky.feed.like within 1s; it showed:
      identity alice.test: handle alice.test
      account alice.test: active
      the docstring (the network as YAML or JSON) is not valid YAML or JSON
      unknown section(s) people; valid sections: pdses, accounts, posts, follows, likes, reposts, records
      unknown PDS 'Z'; known PDSs: A (declare it before the relay)
      this network has no relay yet (declare one: Given a relay crawling PDS A)
      it did show an identity event for alice.test at #1, before the When-steps: to check the whole scenario use `Then the firehose of PDS A has shown an identity event for alice.test`
      """
    And the output does not contain a traceback

  Scenario: The Docker runtime without a reachable engine says how to choose the local one
    Given a behave project with the feature:
      """
      Feature: docker
        Scenario: needs the network
          Given a PDS named A
      """
    When behave runs on it with -D runtime=docker -D docker_host=unix:///nowhere/docker.sock
    Then the run fails
    And the output contains:
      """
      Docker is not reachable at unix:///nowhere/docker.sock
      or use the local runtime: -D runtime=local
      """
    And the output does not contain a traceback

  Scenario: A misspelt collection in a check is a typo, not a pass
    Given a behave project with the feature:
      """
      Feature: typos
        Scenario: a negative check on a collection nobody writes
          Given an account alice.test
          When alice.test posts "hello"
          Then alice.test has no app.bsky.feed.pots records

        Scenario: the same on the firehose
          Given an account alice.test
          When alice.test posts "hello"
          Then the firehose of PDS A shows no commit by alice.test creating app.bsky.feed.pots
      """
    When behave runs on it
    Then the run fails
    And the output contains:
      """
      app.bsky.feed.pots is no collection or method any known lexicon describes, but app.bsky.feed.post is: a typo?
      """
    And the output contains:
      """
      2 failed
      """
    And the output does not contain a traceback

  Scenario: A docstring of the wrong JSON type is named, not a traceback
    Given a behave project with the feature:
      """
      Feature: wrong types
        Scenario: a record that is a list
          Given an account alice.test
          When alice.test creates a com.example.project record:
            '''
            ["not", "an", "object"]
            '''
      """
    When behave runs on it
    Then the run fails
    And the output contains:
      """
      the record as JSON must be a JSON object ({...}), and the docstring holds an array: ["not", "an", "object"]
      """
    And the output does not contain a traceback

  Scenario: A wait longer than max_wait is refused at once, not a hang
    Given a behave project with the feature:
      """
      Feature: long waits
        Scenario: never true
          Given an account alice.test
          Then within 99999 seconds, alice.test has 2 app.bsky.feed.post records
      """
    When behave runs on it
    Then the run fails
    And the output contains:
      """
      'within 99999 seconds' waits longer than max_wait allows (300s)
      """
    And the output does not contain a traceback

  Scenario: An account state that does not exist lists those that do
    Given a behave project with the feature:
      """
      Feature: states
        Scenario: a sleepy account
          Given an account alice.test
          Then alice.test's account is sleepy
      """
    When behave runs on it
    Then the run fails
    And the output contains:
      """
      unknown account state 'sleepy'; an account is one of: active, deactivated, takendown, suspended, deleted, desynchronized, throttled
      """

  Scenario: Waiting on the response of a procedure is refused: it is never sent again
    Given a behave project with the feature:
      """
      Feature: within a POST
        Scenario: a call, then a wait on its answer
          Given an account alice.test
          When alice.test calls com.atproto.repo.createRecord with:
            '''
            {"repo": "${alice.test.did}", "collection": "com.example.note", "record": {"body": "hi"}}
            '''
          Then within 3 seconds, the response contains:
            '''
            {"validationStatus": "valid"}
            '''
      """
    When behave runs on it
    Then the run fails
    And the output contains:
      """
      the latest request is a procedure (com.atproto.repo.createRecord, a POST), which is not sent again
      """
    And the output does not contain a traceback
