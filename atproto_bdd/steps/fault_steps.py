"""Faults between your app and the network: dropped connections, outages, latency and thin links.

The app must declare ``faults = true`` in its ``[apps.NAME]`` table: its
env's service URLs (``${A.ws_url}``, ``${relay.ws_url}``...) then point at
proxies of its own (Toxiproxy), and these steps act on them; the
framework's own requests never go through a fault. UPSTREAM is ``PDS A``,
``the relay``, ``the PLC directory``, ``Jetstream``, ``Tap`` or ``the AppView``.

Process faults restart a service itself, keeping its data and ports (``When
PDS A restarts``, ``When the relay restarts``, ``When Jetstream restarts``,
``When Tap restarts``): every consumer sees a disconnect, and no ``faults =
true`` is needed.
"""

from __future__ import annotations

from typing import Any

from behave import given, then, when

from ..world.faults import RELAY
from .support import atproto_step, uses, world_of


def _faults(context: Any) -> Any:
    return world_of(context).add_service("faults")


@when("the connection from the app {name:Word} to {upstream:Upstream} drops")
@uses("faults")
@atproto_step
def when_connection_drops(context: Any, name: str, upstream: str) -> None:
    """Resets the app's open connections to UPSTREAM (a firehose websocket ends); new connections succeed."""
    _faults(context).drop(name, upstream)


@when("the app {name:Word} cannot reach {upstream:Upstream} for {seconds:Seconds} seconds")
@uses("faults")
@atproto_step
def when_cannot_reach_for(context: Any, name: str, upstream: str, seconds: float) -> None:
    """Closes the app's connections to UPSTREAM and refuses new ones for SECONDS (the next steps run meanwhile)."""
    _faults(context).cut(name, upstream, seconds)


@when("the app {name:Word} cannot reach {upstream:Upstream}")
@uses("faults")
@atproto_step
def when_cannot_reach(context: Any, name: str, upstream: str) -> None:
    """Closes the app's connections to UPSTREAM and refuses new ones until "can reach ... again"."""
    _faults(context).cut(name, upstream)


@when("the app {name:Word} can reach {upstream:Upstream} again")
@uses("faults")
@atproto_step
def when_can_reach_again(context: Any, name: str, upstream: str) -> None:
    """Ends every fault between the app and UPSTREAM: connections allowed, no latency or bandwidth limit."""
    _faults(context).restore(name, upstream)


@given("{milliseconds:d} ms of latency from the app {name:Word} to {upstream:Upstream}")
@when("{milliseconds:d} ms of latency from the app {name:Word} to {upstream:Upstream}")
@uses("faults")
@atproto_step
def given_latency(context: Any, milliseconds: int, name: str, upstream: str) -> None:
    """Delays everything UPSTREAM sends the app by MILLISECONDS (the app must be running: its proxy exists then)."""
    _faults(context).latency(name, upstream, milliseconds)


@given("the link from the app {name:Word} to {upstream:Upstream} is limited to {rate:d} KB/s")
@when("the link from the app {name:Word} to {upstream:Upstream} is limited to {rate:d} KB/s")
@uses("faults")
@atproto_step
def given_bandwidth(context: Any, name: str, upstream: str, rate: int) -> None:
    """Limits what UPSTREAM sends the app to RATE kilobytes per second."""
    _faults(context).limit(name, upstream, rate)


@when("PDS {pds:PdsName} restarts")
@uses("faults")
@atproto_step
def when_pds_restarts(context: Any, pds: str) -> None:
    """Restarts PDS PDS keeping its data, URL, DID and secrets (embedded runtime); its consumers see a disconnect.

    Its accounts, repositories and sessions survive and its firehose's
    sequence numbers continue: an app that subscribes again with its cursor
    gets every event after it (``Then the app NAME resumed the firehose of PDS A from its cursor``).
    """
    world = world_of(context)
    _faults(context).mark(pds)  # how far each app had read, for the resume check
    world.restart_pds(pds)


@when("the relay restarts")
@atproto_step
def when_relay_restarts(context: Any) -> None:
    """Restarts the relay on its data, cursors and port; its subscribers see a disconnect, it resubscribes to PDSes.

    Jetstream on it (which exits when its relay connection ends) is stopped
    before and started again after, from the relay cursor it stored.
    """
    world_of(context).restart_relay()


@when("Jetstream restarts")
@atproto_step
def when_jetstream_restarts(context: Any) -> None:
    """Restarts Jetstream on its data and ports (embedded runtime); it resumes the relay from its stored cursor.

    Its subscribers (an app with ``${jetstream.url}``) see a disconnect; one
    that subscribes again with its cursor (``time_us``) gets every event
    after it, once. The "Jetstream shows" steps go on (their recorder resumes).
    """
    world_of(context).restart_service("jetstream")


@when("Tap restarts")
@atproto_step
def when_tap_restarts(context: Any) -> None:
    """Restarts Tap on its database and port (embedded runtime): tracked accounts, outbox and relay cursor kept.

    Its ``/channel`` consumer sees a disconnect; when it connects again Tap
    delivers what it had not deleted - also events acknowledged in the last
    seconds (it deletes acknowledged events in batches). The "Tap delivers"
    steps go on (their recorder acknowledges such a redelivery, recording it once).
    """
    world_of(context).restart_service("tap")


@when("the AppView restarts")
@atproto_step
def when_appview_restarts(context: Any) -> None:
    """Restarts the AppView on its port and database (embedded runtime); what it indexed stays.

    Its clients - the PDSes' proxied ``app.bsky`` calls, apps with
    ``${appview.url}`` - see a disconnect. It reads its PDSes again from the
    start (bsky keeps its cursors in memory); the next AppView check waits
    until it has caught up again.
    """
    world_of(context).restart_service("appview")


@then("Jetstream has shown no event twice")
@atproto_step
def then_jetstream_no_event_twice(context: Any) -> None:
    """Checks, once Jetstream passed on the relay's latest event, that no record operation or event came twice.

    A Jetstream that replayed the relay after a restart shows old operations
    again under new ``time_us``; its recorder resumed from its cursor, so a
    copy here is Jetstream's.
    """
    world_of(context).jetstream.expect_each_once()


@then("Tap has delivered no event twice")
@atproto_step
def then_tap_no_event_twice(context: Any) -> None:
    """Checks, once Tap caught up with the relay, that it delivered no record operation twice.

    Compared by account, revision, path and action (Tap's ids start again
    after a restart); a redelivery of the same message is not counted.
    """
    world_of(context).tap.expect_each_once()


@when("the PLC directory is down for {seconds:Seconds} seconds")
@atproto_step
def when_plc_down_for(context: Any, seconds: float) -> None:
    """Takes the PLC directory down for SECONDS, keeping its DIDs; the next steps run meanwhile (embedded runtime).

    Everyone sees it: a new account fails (its PDS cannot register the DID),
    and an app, the AppView or a check that resolves an uncached DID is
    refused. It answers again on its URL after SECONDS, or at the scenario's end.
    """
    world_of(context).plc_down(seconds)


@when("the PLC directory is down")
@atproto_step
def when_plc_down(context: Any) -> None:
    """Takes the PLC directory down, keeping its DIDs, until ``the PLC directory is up again`` or the scenario ends."""
    world_of(context).plc_down()


@when("the PLC directory is up again")
@atproto_step
def when_plc_up(context: Any) -> None:
    """Brings the PLC directory back now, on its URL; waits (``service_timeout``) until it answers."""
    world_of(context).plc_up()


@when("the app {name:Word} is killed")
@atproto_step
def when_app_killed(context: Any, name: str) -> None:
    """Kills the app with SIGKILL: no clean shutdown (``is restarted`` starts it again, on the same port).

    With apps behind proxies (``faults = true``), ``Then the app NAME resumed
    the firehose of PDS A from its cursor`` then checks its restart.
    """
    world = world_of(context)
    if world.has_service("faults"):  # the resume check compares its next subscription with what it had read
        world.service("faults").mark_every_source()
    world.app(name).kill()


@then("the app {name:Word} resumed the firehose of PDS {pds:PdsName} from its cursor")
@uses("faults")
@atproto_step
def then_resumed_from_cursor(context: Any, name: str, pds: str) -> None:
    """Checks the app's new firehose subscription after the latest fault on PDS PDS asked for the right cursor.

    Read from the PDS's log of subscriptions (the embedded runtime): it must
    ask for a cursor, not 0 once the app had read events (a full replay), and
    not past the last event it had acknowledged at the fault (its
    ``cursor_http``: a gap). Waits (``app_timeout``) for the subscription.
    """
    _faults(context).expect_resumed(name, pds)


@then("the app {name:Word} resumed the relay firehose from its cursor")
@uses("faults")
@atproto_step
def then_resumed_relay_from_cursor(context: Any, name: str) -> None:
    """Like the PDS check above, for an app that reads the relay (``cursor_of = "relay"``).

    Read from the relay's log of consumers (each with the cursor it asked
    for), after the latest fault between the app and the relay or a kill.
    """
    _faults(context).expect_resumed(name, RELAY)


@then("the app {name:Word} reconnected to {upstream:Upstream}")
@uses("faults")
@atproto_step
def then_reconnected(context: Any, name: str, upstream: str) -> None:
    """Waits (``app_timeout``) until the app opened a new connection to UPSTREAM after the latest fault on it."""
    _faults(context).expect_reconnected(name, upstream)
