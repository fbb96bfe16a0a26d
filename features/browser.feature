Feature: People use an app in a real browser
  Each person has a browser context of their own (cookies and storage) for
  the scenario; the browser is Chromium, launched once per run or worker.
  What they do waits for the page, at most browser_timeout seconds.

  Background:
    Given the app guestbook is running

  Scenario: A person fills a form, clicks, and sees the result
    When alice.test opens the app guestbook
    Then alice.test sees "Guestbook"
    And alice.test does not see "Signed by alice.test"
    When alice.test fills "Name" with "alice.test"
    And alice.test clicks "Sign the book"
    Then alice.test sees "Signed by alice.test"
    And alice.test is on the app guestbook

  Scenario: A field by its placeholder, a link by its text, a page by its path
    When bob.test opens /about in the app guestbook
    Then bob.test sees "About this guestbook"
    When bob.test clicks "Back"
    And bob.test fills "your handle" with "bob.test"
    And bob.test clicks "Sign the book"
    Then bob.test sees "Signed by bob.test"

  Scenario: Two people do not share a page, cookies or storage
    When alice.test opens the app guestbook
    And alice.test fills "Name" with "alice.test"
    And alice.test clicks "Sign the book"
    And bob.test opens the app guestbook
    Then alice.test sees "Signed by alice.test"
    And bob.test sees "alice.test"
    But bob.test does not see "Signed by alice.test"
