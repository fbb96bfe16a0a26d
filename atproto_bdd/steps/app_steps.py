"""Steps for the app under test: the user's own service, started beside the network.

Apps are declared in ``atproto-bdd.toml`` (``[apps.NAME]``: command, env,
readiness check, DID) and started only when a scenario asks for one. Each
start gets a loopback port (``${app.NAME.port}``), with ``did = "plc"`` a
did:plc of its own in the network's PLC directory (``${app.NAME.did}``), and
its environment with every placeholder resolved. It stops when the scenario
ends. Requests to an app land in the latest attempt, so ``Then the request
succeeds``, ``Then the request fails with status 401`` and ``Then the
response contains:`` check them.
"""

from __future__ import annotations

from typing import Any

from behave import given, then, when

from ..world import World
from .support import atproto_step, json_object_docstring, query_parameters, table_rows, world_of

#: What the query steps' docstrings are.
PARAMETERS = "the query's parameters as a JSON object"


def _parameters(context: Any, world: World) -> dict[str, Any]:
    """The step's docstring: a JSON object of query parameters (checked before anything is sent)."""
    return query_parameters(json_object_docstring(context, world, PARAMETERS), PARAMETERS)


@given("the app {name:Word} is running")
@atproto_step
def given_app_running(context: Any, name: str) -> None:
    """Starts the declared app NAME (or keeps it running) and waits until its readiness check passes."""
    world_of(context).app(name).start()


@given("the app {name:Word} is running with:")
@atproto_step
def given_app_running_with(context: Any, name: str) -> None:
    """Starts app NAME with extra environment variables from a ``| name | value |`` table (placeholders allowed).

    The table's values are resolved when the app starts, like the config's ``env``.
    """
    world = world_of(context)
    rows = table_rows(context, world, required=["name", "value"])
    app = world.app(name)
    if app.running:
        app.stop()  # its environment changes: start it again
    app.start({row["name"]: row["value"] for row in rows})


@when("the app {name:Word} is restarted")
@atproto_step
def when_app_restarted(context: Any, name: str) -> None:
    """Stops app NAME and starts it again on the same port, with the same DID and environment."""
    world_of(context).app(name).restart()


@when("the app {name:Word} is stopped")
@atproto_step
def when_app_stopped(context: Any, name: str) -> None:
    """Stops app NAME (SIGTERM, then SIGKILL after a grace period)."""
    world_of(context).app(name).stop()


@then('the app {name:Word} logs "{text}"')
@atproto_step
def then_app_logs(context: Any, name: str, text: str) -> None:
    """Waits up to ``app_timeout`` seconds for a line of app NAME's output (stdout or stderr) containing TEXT."""
    world = world_of(context)
    world.app(name).wait_for_log(world.resolve(text), world.settings.app_timeout)


@then('the app {name:Word} does not log "{text}"')
@atproto_step
def then_app_does_not_log(context: Any, name: str, text: str) -> None:
    """Fails if a line of app NAME's output contains TEXT, once the app has caught up (its ``cursor_http``).

    Without ``cursor_http`` it watches the output for ``app_settle`` seconds,
    and the run says once that such checks are not proved.
    """
    world = world_of(context)
    world.app(name).expect_no_log(world.resolve(text))


@when("the app {name:Word} is sent GET {path}")
@atproto_step
def when_app_sent_get(context: Any, name: str, path: str) -> None:
    """Sends ``GET PATH`` to app NAME; the answer (or its error status) is the latest attempt."""
    world = world_of(context)
    app = world.app(name)
    resolved = world.resolve(path)
    world.attempt(f"GET {resolved} on the app {name}", lambda: app.get(resolved))


@when("{nsid:NSID} is queried on the app {name:Word}")
@atproto_step
def when_app_queried(context: Any, nsid: str, name: str) -> None:
    """Sends the XRPC query NSID to app NAME without credentials, once the app has caught up (its ``cursor_http``)."""
    world_of(context).query_app(name, nsid)


@when("{nsid:NSID} is queried on the app {name:Word} with:")
@atproto_step
def when_app_queried_with(context: Any, nsid: str, name: str) -> None:
    """Sends the XRPC query NSID with the JSON docstring's parameters to app NAME, without credentials."""
    world = world_of(context)
    world.query_app(name, nsid, _parameters(context, world))


@when("{nsid:NSID} is queried at once on the app {name:Word}")
@atproto_step
def when_app_queried_at_once(context: Any, nsid: str, name: str) -> None:
    """Sends the XRPC query NSID to app NAME without waiting for it to catch up first (what it has now)."""
    world_of(context).query_app(name, nsid, at_once=True)


@when("{nsid:NSID} is queried at once on the app {name:Word} with:")
@atproto_step
def when_app_queried_at_once_with(context: Any, nsid: str, name: str) -> None:
    """Like the step above, with the JSON docstring's parameters."""
    world = world_of(context)
    world.query_app(name, nsid, _parameters(context, world), at_once=True)


@when("{handle:Handle} queries {nsid:NSID} on the app {name:Word}")
@atproto_step
def when_account_queries_app(context: Any, handle: str, nsid: str, name: str) -> None:
    """Sends the XRPC query NSID to app NAME with a service-auth JWT HANDLE's PDS issued (``aud`` = the app's DID).

    An app that declares ``cursor_http`` is first waited for until it has
    seen everything before the query (what the scenario just wrote).
    """
    world_of(context).query_app(name, nsid, as_handle=handle)


@when("{handle:Handle} queries {nsid:NSID} on the app {name:Word} with:")
@atproto_step
def when_account_queries_app_with(context: Any, handle: str, nsid: str, name: str) -> None:
    """Like the step above, with the JSON docstring's parameters."""
    world = world_of(context)
    world.query_app(name, nsid, _parameters(context, world), as_handle=handle)


@given("the app {name:Word} has caught up")
@when("the app {name:Word} has caught up")
@then("the app {name:Word} has caught up")
@atproto_step
def then_app_caught_up(context: Any, name: str) -> None:
    """Waits (``app_timeout``) until app NAME's cursor (``cursor_http``) reaches the head of the firehose it reads.

    The head is taken when the step starts, so a check after it that says
    "no" (``Then pingbot.test has no app.bsky.feed.post records``) speaks of
    a time the app had seen everything before: a proof, not a pause.
    """
    world = world_of(context)
    world.app(name).wait_caught_up(world.settings.app_timeout)


@then("the app {name:Word} is running")
@atproto_step
def then_app_is_running(context: Any, name: str) -> None:
    """Checks app NAME's process runs."""
    app = world_of(context).app(name)
    assert app.running, f"the app {name} is not running; its log ends with:\n{app.logs()[-2000:] or '(empty)'}"


@then("the app {name:Word} is not running")
@atproto_step
def then_app_is_not_running(context: Any, name: str) -> None:
    """Checks app NAME's process has stopped (or was never started)."""
    assert not world_of(context).app(name).running, f"the app {name} is still running"
