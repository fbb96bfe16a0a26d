"""Steps for Tap: verified, filtered, backfilled repository events (indigo ``cmd/tap``).

Tap is built with ``go install`` from the indigo version the relay comes
from, on first use. It follows the relay for the accounts it tracks,
backfills each one from its PDS when it starts tracking it (``live: false``
events), and delivers on ``/channel`` with acks - or, in webhook mode, as
POSTs to an app. Apps under test get ``${tap.url}`` and
``${tap.admin_password}`` (HTTP basic auth, user ``admin``). Tap hands each
event to one consumer: the delivery steps read the channel themselves, so do
not also point an app at the same Tap. Where the run may (as root), Tap
resolves the network's handles through a DNS server of the run, so its
identity events carry ``alice.test``, not ``handle.invalid``.
"""

from __future__ import annotations

from typing import Any

from behave import given, then, when

from .support import atproto_step, uses, world_of


@given("Tap tracking {handles:HandleList}")
@when("Tap starts tracking {handles:HandleList}")
@uses("tap")
@atproto_step
def given_tap_tracking(context: Any, handles: list[str]) -> None:
    """Starts Tap on the relay (once) and tracks the accounts (``POST /repos/add``).

    Returns once Tap has backfilled each account from its PDS.
    """
    world = world_of(context)
    dids = [world.account(handle).did for handle in handles]
    world.add_tap().track(*dids)


@given("Tap filtered to {collections:NSIDList} tracking {handles:HandleList}")
@uses("tap")
@atproto_step
def given_tap_filtered(context: Any, collections: list[str], handles: list[str]) -> None:
    """Starts Tap keeping only COLLECTIONS (``TAP_COLLECTION_FILTERS``, ``app.bsky.*`` works), tracks the accounts."""
    world = world_of(context)
    dids = [world.account(handle).did for handle in handles]
    world.add_tap(tuple(collections)).track(*dids)


@given("Tap on the relay sending {collection:NSID} to the app {name:Word} at {path}")
@uses("tap")
@atproto_step
def given_tap_webhook(context: Any, collection: str, name: str, path: str) -> None:
    """Starts Tap in webhook mode for app NAME, as apps built on Tap run it (Statusphere does).

    Tap tracks every account that writes a COLLECTION record
    (``TAP_SIGNAL_COLLECTION``, no ``/repos/add``), keeps only COLLECTION
    (``TAP_COLLECTION_FILTERS``) and POSTs each event to the app's URL +
    PATH (``TAP_WEBHOOK_URL``) with basic auth ``admin:${tap.admin_password}``,
    retrying until the app answers 2xx. Start the app after this step: its env
    can use ``${tap.url}`` and ``${tap.admin_password}``. Tap has no
    ``/channel`` then, so the "Tap delivers" steps cannot check it.
    """
    world_of(context).add_tap_webhook(collection, name, path)


@given("Tap on the relay")
@uses("tap")
@atproto_step
def given_tap(context: Any) -> None:
    """Starts Tap on the relay, tracking nothing yet (an app under test may add repositories)."""
    world_of(context).add_tap()


@then("Tap delivers a {operation:Operation} of {collection:NSID} by {handle:Handle}")
@then("Tap delivers an {operation:Operation} of {collection:NSID} by {handle:Handle}")
@atproto_step
def then_tap_delivers_op(context: Any, operation: str, collection: str, handle: str) -> None:
    """Waits for Tap to deliver HANDLE's OPERATION (``create``, ``update``, ``delete``) of a COLLECTION record."""
    world = world_of(context)
    world.tap.expect(world.event_query("commit", handle, action=operation, collection=collection))


@then("Tap delivers an identity event for {handle:Handle}")
@atproto_step
def then_tap_delivers_identity(context: Any, handle: str) -> None:
    """Waits for Tap's identity event about HANDLE (sent when Tap starts tracking an account, and on changes)."""
    world = world_of(context)
    world.tap.expect(world.event_query("identity", handle))


@then("Tap has delivered an identity event for {handle:Handle}")
@atproto_step
def then_tap_has_delivered_identity(context: Any, handle: str) -> None:
    """Like "Tap delivers an identity event for HANDLE", over the whole scenario."""
    world = world_of(context)
    world.tap.expect(world.event_query("identity", handle), whole=True)


@then("Tap has delivered a {operation:Operation} of {collection:NSID} by {handle:Handle}")
@then("Tap has delivered an {operation:Operation} of {collection:NSID} by {handle:Handle}")
@atproto_step
def then_tap_has_delivered_op(context: Any, operation: str, collection: str, handle: str) -> None:
    """Like "Tap delivers a OPERATION of COLLECTION by HANDLE", over the whole scenario."""
    world = world_of(context)
    world.tap.expect(world.event_query("commit", handle, action=operation, collection=collection), whole=True)


@then("Tap delivers no event for {handle:Handle}")
@then("Tap delivers no event by {handle:Handle}")
@atproto_step
def then_tap_delivers_none(context: Any, handle: str) -> None:
    """Fails if Tap delivers any event about HANDLE in the window, once proved complete.

    The relay must have handled HANDLE's latest event, and Tap's firehose
    cursor must have passed the relay's head (sequence numbers, never a sleep).
    """
    world = world_of(context)
    world.tap.expect_none(world.event_query("commit", handle), world.event_query("identity", handle))


@then("Tap delivers no {operation:Operation} of {collection:NSID} by {handle:Handle}")
@atproto_step
def then_tap_delivers_no_op(context: Any, operation: str, collection: str, handle: str) -> None:
    """Fails if Tap delivers HANDLE's OPERATION of a COLLECTION record in the window, once proved complete."""
    world = world_of(context)
    world.tap.expect_none(world.event_query("commit", handle, action=operation, collection=collection))


@then("Tap has backfilled {handle:Handle}'s {count:Count} {collection:NSID} records")
@then("Tap has backfilled {handle:Handle}'s {count:Count} {collection:NSID} record")
@atproto_step
def then_tap_backfilled(context: Any, handle: str, count: int, collection: str) -> None:
    """Checks Tap delivered exactly COUNT COLLECTION records of HANDLE from its backfill (``live: false``).

    Waits until the backfill finished and COUNT records came (``firehose_timeout``), then
    fails if there are more or fewer.
    """
    world = world_of(context)
    did = world.account(handle).did
    events = world.tap.wait_backfilled(did, collection)
    rkeys = sorted({event.ops[0].rkey for event in events})
    assert len(rkeys) == count, (
        f"Tap backfilled {len(rkeys)} {collection} records of {handle}, expected {count}: {rkeys}"
    )
