"""Steps for labelers: what an app labels, on request and on its label stream, and the labels' signatures.

Subjects are an account's latest post (its AT-URI) or the account itself
(its DID). "Labels" steps ask ``com.atproto.label.queryLabels`` on the app
until the label is in force (a later negation withdraws it) or
``app_timeout`` passes; "does not label" first waits until the labeler has
caught up with the firehose (if its app declares ``cursor_http``), else
watches it for ``app_settle`` seconds. Stream steps read
``com.atproto.label.subscribeLabels`` from cursor 0.
"""

from __future__ import annotations

from typing import Any

from behave import then

from ..world.bsky import POST
from .support import atproto_step, world_of


def _post(context: Any, handle: str) -> tuple[str, str]:
    return world_of(context).account(handle).latest(POST).uri, f"{handle}'s latest post"


def _account(context: Any, handle: str) -> tuple[str, str]:
    return world_of(context).account(handle).did, handle


@then("the app {name:Word} labels {handle:Handle}'s latest post with {value:LabelValue}")
@atproto_step
def then_labels_post(context: Any, name: str, handle: str, value: str) -> None:
    """Asks app NAME's queryLabels until VALUE is in force on HANDLE's latest post (``app_timeout``)."""
    subject, shown = _post(context, handle)
    world_of(context).labeler(name).expect_label(subject, value, shown)


@then("the app {name:Word} labels {handle:Handle} with {value:LabelValue}")
@atproto_step
def then_labels_account(context: Any, name: str, handle: str, value: str) -> None:
    """Asks app NAME's queryLabels until VALUE is in force on HANDLE's account (its DID)."""
    subject, shown = _account(context, handle)
    world_of(context).labeler(name).expect_label(subject, value, shown)


@then("the app {name:Word} does not label {handle:Handle}'s latest post with {value:LabelValue}")
@atproto_step
def then_not_labels_post(context: Any, name: str, handle: str, value: str) -> None:
    """Checks VALUE is not in force on HANDLE's latest post, once app NAME has caught up (see the module)."""
    subject, shown = _post(context, handle)
    world_of(context).labeler(name).expect_no_label(subject, value, shown)


@then("the app {name:Word} does not label {handle:Handle} with {value:LabelValue}")
@atproto_step
def then_not_labels_account(context: Any, name: str, handle: str, value: str) -> None:
    """Checks VALUE is not in force on HANDLE's account, once app NAME has caught up."""
    subject, shown = _account(context, handle)
    world_of(context).labeler(name).expect_no_label(subject, value, shown)


@then("the label stream of the app {name:Word} shows {value:LabelValue} on {handle:Handle}'s latest post")
@atproto_step
def then_stream_shows_post_label(context: Any, name: str, value: str, handle: str) -> None:
    """Reads app NAME's subscribeLabels from cursor 0 until a VALUE label on HANDLE's latest post arrives."""
    subject, shown = _post(context, handle)
    world_of(context).labeler(name).expect_on_stream(subject, value, shown)


@then("the label stream of the app {name:Word} shows {value:LabelValue} on {handle:Handle}")
@atproto_step
def then_stream_shows_account_label(context: Any, name: str, value: str, handle: str) -> None:
    """Reads app NAME's subscribeLabels from cursor 0 until a VALUE label on HANDLE's account arrives."""
    subject, shown = _account(context, handle)
    world_of(context).labeler(name).expect_on_stream(subject, value, shown)


@then("every label from the app {name:Word} has a valid signature")
@atproto_step
def then_labels_signed(context: Any, name: str) -> None:
    """Verifies each label app NAME serves (queryLabels ``*``) against its source's ``#atproto_label`` key.

    The key comes from the source DID's document in the network's PLC
    directory; the step fails if the app has no labels at all.
    """
    world_of(context).labeler(name).verify_signatures()
