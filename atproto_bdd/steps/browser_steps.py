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

    Settled: loaded, then no request in flight for a quarter second (at most
    ``browser_timeout``; a page that keeps polling is judged as it is then).
    """
    person_of(context, handle).expect_no_text(world_of(context).resolve(text))


@then("{handle:Handle} is on the app {name:Word}")
@atproto_step
def then_person_is_on_app(context: Any, handle: str, name: str) -> None:
    """Waits (``browser_timeout``) until HANDLE's page is one of app NAME's (its address starts with the app's URL)."""
    app = world_of(context).app(name)
    person_of(context, handle).expect_at(f"{app.url}/", f"the app {name}")


# -- signing in: the PDS's own authorization page, an app's OAuth client ---------------------


def _pds_url(context: Any, handle: str) -> str:
    return world_of(context).account(handle).pds.url


def _sign_in_on_pds(context: Any, handle: str, *, approve: bool) -> None:
    """HANDLE signs in on their PDS's page with their own password, then approves or denies the request."""
    account = world_of(context).account(handle)
    person_of(context, handle).sign_in_on_pds(account.pds.url, handle, account.password, approve=approve)


@when("{handle:Handle} signs in on {pronoun:Pronoun} PDS's authorization page")
@uses("browser")
@atproto_step
def when_person_signs_in_on_pds(context: Any, handle: str, pronoun: str) -> None:
    """On the PDS's own sign-in page HANDLE signs in (handle and password) and approves the app's request."""
    _sign_in_on_pds(context, handle, approve=True)


@when("{handle:Handle} denies access on {pronoun:Pronoun} PDS's authorization page")
@uses("browser")
@atproto_step
def when_person_denies_on_pds(context: Any, handle: str, pronoun: str) -> None:
    """On the PDS's own page HANDLE signs in, then denies the app's request (the app gets ``access_denied``)."""
    _sign_in_on_pds(context, handle, approve=False)


@when('{handle:Handle} signs in on {pronoun:Pronoun} PDS\'s authorization page with the password "{password}"')
@uses("browser")
@atproto_step
def when_person_signs_in_with_password(context: Any, handle: str, pronoun: str, password: str) -> None:
    """HANDLE submits the PDS's sign-in form with PASSWORD (a wrong one, say); what the page says is checked next."""
    person_of(context, handle).sign_in_on_pds(_pds_url(context, handle), handle, password, approve=None)


@then("{handle:Handle} is on {pronoun:Pronoun} PDS's authorization page")
@atproto_step
def then_person_on_pds_page(context: Any, handle: str, pronoun: str) -> None:
    """Waits (``browser_timeout``) until HANDLE's page is their PDS's authorization page (``/oauth/authorize``)."""
    person_of(context, handle).expect_at(
        f"{_pds_url(context, handle)}/oauth/authorize", "their PDS's authorization page"
    )


@then('the app {name:Word} asks {handle:Handle}\'s PDS for the scope "{scope}"')
@atproto_step
def then_app_asks_for_scope(context: Any, name: str, handle: str, scope: str) -> None:
    """The authorization request on HANDLE's PDS page comes from app NAME and asks for SCOPE.

    Read from the request the PDS hands its page (client, redirect URIs,
    scope): the page itself words scopes for people ("Repository - Publish
    changes"). SCOPE is one space-separated scope, such as ``repo:xyz.statusphere.status``.
    """
    app = world_of(context).app(name)
    request = person_of(context, handle).authorization_request(_pds_url(context, handle))
    metadata = request.get("clientMetadata") or {}
    redirects = [str(uri) for uri in metadata.get("redirect_uris", [])]
    client = request.get("clientId", "?")
    assert any(uri.startswith(f"{app.url}/") for uri in redirects), (
        f"the request on {handle}'s PDS page comes from the client {client}, whose redirect URIs "
        f"{redirects} are not the app {name}'s ({app.url})"
    )
    scopes = str(request.get("scope", "")).split()
    assert scope in scopes, f"the app {name} asks {handle}'s PDS for the scopes {scopes}, not for {scope!r}"


@when("{handle:Handle} signs in to the app {name:Word}")
@uses("browser")
@atproto_step
def when_person_signs_in_to_app(context: Any, handle: str, name: str) -> None:
    """The whole sign-in: HANDLE opens app NAME, types their handle, signs in and approves on their PDS, and is back.

    Back means on the app's pages, settled (as for "does not see"): a
    single-page app finishes the sign-in in the page, after it is back. The
    app's ``[apps.NAME.sign_in]`` says where its form is: ``path`` (default
    ``/``), ``field`` (default ``Handle``) and ``button`` (default ``Sign in``).
    """
    world = world_of(context)
    app, account = world.app(name), world.account(handle)
    person_of(context, handle).sign_in_to_app(app.url, app.spec.sign_in, account.pds.url, handle, account.password)
