"""Steps as a person in a real browser: open an app's pages, fill its forms, click, and check what it shows.

Each person (named like an account: ``alice.test``) has a browser context of
their own for the scenario, so cookies and storage never leak between people
or scenarios. The browser is Chromium, driven by Playwright, launched once
per run (or worker) by the first scenario that needs it; every wait is at
most ``browser_timeout`` seconds (default 10). A failed scenario's
diagnostics show each person's page (address, title, console errors, failed
requests) and the report shows a screenshot of it.
"""

from __future__ import annotations

from typing import Any

from behave import then, when

from ..errors import UsageError
from ..world.browser import Person
from .support import atproto_step, uses, world_of


def person_of(context: Any, handle: str) -> Person:
    """``handle``'s page in the run's browser (the browser launched now if it does not run yet)."""
    return world_of(context).add_service("browser").person(handle)


@when("{handle:Handle} opens the app {name:Word}")
@uses("browser")
@atproto_step
def when_person_opens_app(context: Any, handle: str, name: str) -> None:
    """HANDLE opens the running app NAME's page ``/`` in the browser and waits until it has loaded."""
    url = world_of(context).app(name).url
    person_of(context, handle).open(f"{url}/")


@when("{handle:Handle} opens {path} in the app {name:Word}")
@uses("browser")
@atproto_step
def when_person_opens_path(context: Any, handle: str, path: str, name: str) -> None:
    """HANDLE opens PATH (starting with ``/``, placeholders allowed) of the running app NAME in the browser."""
    world = world_of(context)
    path = world.resolve(path)
    if not path.startswith("/"):
        raise UsageError(f"the page {path!r} must be a path starting with / (like /settings)")
    person_of(context, handle).open(world.app(name).url + path)


@when('{handle:Handle} fills "{field}" with "{value}"')
@uses("browser")
@atproto_step
def when_person_fills(context: Any, handle: str, field: str, value: str) -> None:
    """HANDLE types VALUE (placeholders allowed) into the field FIELD: found by its label, placeholder or name."""
    person_of(context, handle).fill(field, world_of(context).resolve(value))


@when('{handle:Handle} clicks "{text}"')
@uses("browser")
@atproto_step
def when_person_clicks(context: Any, handle: str, text: str) -> None:
    """HANDLE clicks the button or link TEXT (its text or accessible name) and the page goes on from there."""
    person_of(context, handle).click(text)


@then('{handle:Handle} sees "{text}"')
@atproto_step
def then_person_sees(context: Any, handle: str, text: str) -> None:
    """Waits (``browser_timeout``) until HANDLE's page shows TEXT (placeholders allowed)."""
    person_of(context, handle).expect_text(world_of(context).resolve(text))


@then('{handle:Handle} does not see "{text}"')
@atproto_step
def then_person_does_not_see(context: Any, handle: str, text: str) -> None:
    """Checks that HANDLE's page does not show TEXT, judged once the page has settled.

    Settled: loaded, then no network traffic for half a second (at most
    ``browser_timeout``; a page that keeps polling is judged as it is then).
    """
    person_of(context, handle).expect_no_text(world_of(context).resolve(text))


@then("{handle:Handle} is on the app {name:Word}")
@atproto_step
def then_person_is_on_app(context: Any, handle: str, name: str) -> None:
    """Waits (``browser_timeout``) until HANDLE's page is one of app NAME's (its address starts with the app's URL)."""
    app = world_of(context).app(name)
    person_of(context, handle).expect_at(f"{app.url}/", f"the app {name}")
