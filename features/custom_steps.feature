Feature: A project's own steps on top of the library
  steps/project_steps.py defines steps in a project's domain language with
  the world API (context.atproto); they mix freely with the library's steps.

  Scenario: Projects are records in the owner's repository
    Given an account alice.test
    When alice.test starts a project called "atproto-bdd"
    Then alice.test has a project called "atproto-bdd"
    And alice.test has 1 com.example.project record
    And alice.test has no project with record key 3jzfcijpj2z2a
