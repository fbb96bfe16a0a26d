"""Steps for moderation with Ozone: the team, reports, takedowns, labels, and what the PDS and the AppView then do.

`Given Ozone moderated by carol.test` starts the network's Ozone (Bluesky's
moderation service; the AppView comes with it, and both are configured
before the PDSes, wherever the step stands) with carol.test on its team.
Users report through their PDS and moderators act through theirs, as in
production; each action returns once Ozone has pushed it to the PDS and
the AppView and its labels are in the AppView, so the next step sees it.
A post taken down in Ozone carries Ozone's ``!takedown`` label, which the
AppView applies (the PDS keeps serving the record, as with real Ozone); an
account taken down is taken down on the PDS and in the AppView.
"""

from __future__ import annotations

from typing import Any

from behave import given, then, when

from ..world.bsky import POST
from ..world.ozone import Subject
from .support import atproto_step, uses, world_of


def _post(context: Any, handle: str) -> tuple[Subject, str]:
    return world_of(context).account(handle).latest(POST), f"{handle}'s latest post"


def _account(context: Any, handle: str) -> tuple[Subject, str]:
    return world_of(context).account(handle).did, handle


# -- Ozone and its team ---------------------------------------------------------------------


@given("Ozone moderated by {handle:Handle}")
@uses("ozone")
@atproto_step
def given_ozone(context: Any, handle: str) -> None:
    """Starts the network's Ozone with HANDLE as an admin of its team.

    Ozone (``@atproto/ozone``) runs beside the AppView (which starts with it)
    on its database; the PDSes send it reports and accept its takedowns, and
    the AppView applies its labels. Needs the local runtime; installed with
    the AppView on first use.
    """
    world = world_of(context)
    world.add_ozone().add_member(world.account(handle), "admin")


@given("Ozone moderated by {handle:Handle} as {role:Word}")
@uses("ozone")
@atproto_step
def given_ozone_role(context: Any, handle: str, role: str) -> None:
    """Starts the network's Ozone with HANDLE on its team as ROLE: ``admin``, ``moderator`` or ``triage``."""
    world = world_of(context)
    world.add_ozone().add_member(world.account(handle), role)


@given("{handle:Handle} moderates in Ozone as {role:Word}")
@uses("ozone")
@atproto_step
def given_member(context: Any, handle: str, role: str) -> None:
    """Adds HANDLE to Ozone's team as ROLE (``admin``, ``moderator``, ``triage``), starting Ozone if needed."""
    world = world_of(context)
    world.add_ozone().add_member(world.account(handle), role)


# -- reports ----------------------------------------------------------------------------------


@given("{handle:Handle} reports {other:Handle}'s latest post as {reason:Word}")
@when("{handle:Handle} reports {other:Handle}'s latest post as {reason:Word}")
@atproto_step
def when_reports_post(context: Any, handle: str, other: str, reason: str) -> None:
    """HANDLE reports OTHER's latest post to Ozone through their PDS.

    REASON: spam, violation, misleading, sexual, rude, other or appeal.
    """
    world = world_of(context)
    world.ozone.report(world.account(handle), _post(context, other)[0], reason)


@given('{handle:Handle} reports {other:Handle}\'s latest post as {reason:Word} saying "{text}"')
@when('{handle:Handle} reports {other:Handle}\'s latest post as {reason:Word} saying "{text}"')
@atproto_step
def when_reports_post_saying(context: Any, handle: str, other: str, reason: str, text: str) -> None:
    """HANDLE reports OTHER's latest post to Ozone for REASON, with TEXT as the report's comment."""
    world = world_of(context)
    world.ozone.report(world.account(handle), _post(context, other)[0], reason, world.resolve(text))


@given("{handle:Handle} reports {other:Handle} as {reason:Word}")
@when("{handle:Handle} reports {other:Handle} as {reason:Word}")
@atproto_step
def when_reports_account(context: Any, handle: str, other: str, reason: str) -> None:
    """HANDLE reports OTHER's account to Ozone through their PDS, for REASON."""
    world = world_of(context)
    world.ozone.report(world.account(handle), world.account(other).did, reason)


@given('{handle:Handle} reports {other:Handle} as {reason:Word} saying "{text}"')
@when('{handle:Handle} reports {other:Handle} as {reason:Word} saying "{text}"')
@atproto_step
def when_reports_account_saying(context: Any, handle: str, other: str, reason: str, text: str) -> None:
    """HANDLE reports OTHER's account to Ozone for REASON, with TEXT as the report's comment."""
    world = world_of(context)
    world.ozone.report(world.account(handle), world.account(other).did, reason, world.resolve(text))


@then("Ozone has an open report on {other:Handle}'s latest post")
@atproto_step
def then_open_report_post(context: Any, other: str) -> None:
    """Asks ``tools.ozone.moderation.queryStatuses`` until OTHER's latest post is open for review."""
    subject, shown = _post(context, other)
    world_of(context).ozone.expect_review_state(subject, "open", shown)


@then("Ozone has an open report on {other:Handle}")
@atproto_step
def then_open_report_account(context: Any, other: str) -> None:
    """Asks ``queryStatuses`` until OTHER's account is open for review."""
    subject, shown = _account(context, other)
    world_of(context).ozone.expect_review_state(subject, "open", shown)


@then("the report on {other:Handle}'s latest post is resolved")
@atproto_step
def then_report_resolved_post(context: Any, other: str) -> None:
    """Asks ``queryStatuses`` until the review of OTHER's latest post is closed."""
    subject, shown = _post(context, other)
    world_of(context).ozone.expect_review_state(subject, "resolved", shown)


@then("the report on {other:Handle} is resolved")
@atproto_step
def then_report_resolved_account(context: Any, other: str) -> None:
    """Asks ``queryStatuses`` until the review of OTHER's account is closed."""
    subject, shown = _account(context, other)
    world_of(context).ozone.expect_review_state(subject, "resolved", shown)


# -- moderators' actions ------------------------------------------------------------------------


@given("{handle:Handle} acknowledges the report on {other:Handle}'s latest post")
@when("{handle:Handle} acknowledges the report on {other:Handle}'s latest post")
@atproto_step
def when_acknowledges_post(context: Any, handle: str, other: str) -> None:
    """HANDLE (on Ozone's team) acknowledges OTHER's latest post: its review and its reports close."""
    world = world_of(context)
    world.ozone.acknowledge(world.account(handle), _post(context, other)[0])


@given("{handle:Handle} acknowledges the report on {other:Handle}")
@when("{handle:Handle} acknowledges the report on {other:Handle}")
@atproto_step
def when_acknowledges_account(context: Any, handle: str, other: str) -> None:
    """HANDLE (on Ozone's team) acknowledges the reports on OTHER's account."""
    world = world_of(context)
    world.ozone.acknowledge(world.account(handle), world.account(other).did)


@given("{handle:Handle} takes down {other:Handle}'s latest post in Ozone")
@when("{handle:Handle} takes down {other:Handle}'s latest post in Ozone")
@atproto_step
def when_takes_down_post(context: Any, handle: str, other: str) -> None:
    """HANDLE takes OTHER's latest post down in Ozone: Ozone labels it ``!takedown``, and the AppView hides it."""
    world = world_of(context)
    world.ozone.takedown(world.account(handle), _post(context, other)[0])


@given("{handle:Handle} takes down {other:Handle} in Ozone")
@when("{handle:Handle} takes down {other:Handle} in Ozone")
@atproto_step
def when_takes_down_account(context: Any, handle: str, other: str) -> None:
    """HANDLE takes OTHER's account down in Ozone, which pushes the takedown to the PDS and the AppView."""
    world = world_of(context)
    world.ozone.takedown(world.account(handle), world.account(other).did)


@when("{handle:Handle} tries to take down {other:Handle}'s latest post in Ozone")
@atproto_step
def when_tries_to_take_down_post(context: Any, handle: str, other: str) -> None:
    """Like "takes down", but keeps Ozone's refusal (a triage member, an outsider) for "Then the request ..."."""
    world = world_of(context)
    moderator, subject = world.account(handle), _post(context, other)[0]
    world.attempt(f"{handle} takes down {other}'s latest post", lambda: world.ozone.takedown(moderator, subject))


@when("{handle:Handle} tries to take down {other:Handle} in Ozone")
@atproto_step
def when_tries_to_take_down_account(context: Any, handle: str, other: str) -> None:
    """Like "takes down", but keeps Ozone's refusal (a triage member, an outsider) for "Then the request ..."."""
    world = world_of(context)
    moderator, subject = world.account(handle), world.account(other).did
    world.attempt(f"{handle} takes down {other}", lambda: world.ozone.takedown(moderator, subject))


@when("{handle:Handle} reverses the takedown of {other:Handle}'s latest post in Ozone")
@atproto_step
def when_reverses_post(context: Any, handle: str, other: str) -> None:
    """HANDLE reverses the takedown of OTHER's latest post (Ozone negates its ``!takedown`` label)."""
    world = world_of(context)
    world.ozone.reverse_takedown(world.account(handle), _post(context, other)[0])


@when("{handle:Handle} reverses the takedown of {other:Handle} in Ozone")
@atproto_step
def when_reverses_account(context: Any, handle: str, other: str) -> None:
    """HANDLE reverses the takedown of OTHER's account, on the PDS and in the AppView."""
    world = world_of(context)
    world.ozone.reverse_takedown(world.account(handle), world.account(other).did)


@given("{handle:Handle} labels {other:Handle}'s latest post with {value:LabelValue} in Ozone")
@when("{handle:Handle} labels {other:Handle}'s latest post with {value:LabelValue} in Ozone")
@atproto_step
def when_labels_post(context: Any, handle: str, other: str, value: str) -> None:
    """HANDLE labels OTHER's latest post with VALUE in Ozone (``#modEventLabel``); the AppView applies it."""
    world = world_of(context)
    world.ozone.label(world.account(handle), _post(context, other)[0], add=(value,))


@given("{handle:Handle} labels {other:Handle} with {value:LabelValue} in Ozone")
@when("{handle:Handle} labels {other:Handle} with {value:LabelValue} in Ozone")
@atproto_step
def when_labels_account(context: Any, handle: str, other: str, value: str) -> None:
    """HANDLE labels OTHER's account with VALUE in Ozone."""
    world = world_of(context)
    world.ozone.label(world.account(handle), world.account(other).did, add=(value,))


@when("{handle:Handle} removes the label {value:LabelValue} from {other:Handle}'s latest post in Ozone")
@atproto_step
def when_unlabels_post(context: Any, handle: str, value: str, other: str) -> None:
    """HANDLE negates VALUE on OTHER's latest post in Ozone; the AppView stops showing it."""
    world = world_of(context)
    world.ozone.label(world.account(handle), _post(context, other)[0], remove=(value,))


@when("{handle:Handle} removes the label {value:LabelValue} from {other:Handle} in Ozone")
@atproto_step
def when_unlabels_account(context: Any, handle: str, value: str, other: str) -> None:
    """HANDLE negates VALUE on OTHER's account in Ozone."""
    world = world_of(context)
    world.ozone.label(world.account(handle), world.account(other).did, remove=(value,))


# -- what the AppView shows, and Ozone's labels -------------------------------------------------


@then("the AppView shows {other:Handle}'s latest post to {viewer:Handle} with the label {value:LabelValue}")
@atproto_step
def then_appview_label(context: Any, other: str, viewer: str, value: str) -> None:
    """Asks ``app.bsky.feed.getPosts`` as VIEWER until OTHER's latest post carries the label VALUE."""
    world = world_of(context)
    ref = world.account(other).latest(POST)
    world.appview.expect_post_label(ref.uri, world.account(viewer), value)


@then("the AppView shows {other:Handle}'s latest post to {viewer:Handle} without the label {value:LabelValue}")
@atproto_step
def then_appview_no_label(context: Any, other: str, viewer: str, value: str) -> None:
    """Once Ozone's labels are in the AppView, checks OTHER's latest post, as VIEWER sees it, lacks VALUE."""
    world = world_of(context)
    ref = world.account(other).latest(POST)
    world.appview.expect_post_without_label(ref.uri, world.account(viewer), value)


@then("Ozone labels {handle:Handle}'s latest post with {value:LabelValue}")
@atproto_step
def then_ozone_labels_post(context: Any, handle: str, value: str) -> None:
    """Asks Ozone's ``com.atproto.label.queryLabels`` until VALUE is in force on HANDLE's latest post."""
    subject = world_of(context).account(handle).latest(POST).uri
    world_of(context).ozone.labels.expect_label(subject, value, f"{handle}'s latest post")


@then("Ozone does not label {handle:Handle}'s latest post with {value:LabelValue}")
@atproto_step
def then_ozone_not_labels_post(context: Any, handle: str, value: str) -> None:
    """Once Ozone has done what it was asked, checks VALUE is not in force on HANDLE's latest post."""
    subject = world_of(context).account(handle).latest(POST).uri
    world_of(context).ozone.labels.expect_no_label(subject, value, f"{handle}'s latest post")


@then("the label stream of Ozone shows {value:LabelValue} on {handle:Handle}'s latest post")
@atproto_step
def then_ozone_stream_post(context: Any, value: str, handle: str) -> None:
    """Reads Ozone's subscribeLabels from cursor 0 until a VALUE label on HANDLE's latest post arrives."""
    subject = world_of(context).account(handle).latest(POST).uri
    world_of(context).ozone.labels.expect_on_stream(subject, value, f"{handle}'s latest post")


@then("the label stream of Ozone shows {value:LabelValue} on {handle:Handle}")
@atproto_step
def then_ozone_stream_account(context: Any, value: str, handle: str) -> None:
    """Reads Ozone's subscribeLabels from cursor 0 until a VALUE label on HANDLE's account arrives."""
    world_of(context).ozone.labels.expect_on_stream(world_of(context).account(handle).did, value, handle)


@then("every label from Ozone has a valid signature")
@atproto_step
def then_ozone_labels_signed(context: Any) -> None:
    """Verifies each label Ozone serves (queryLabels ``*``) against the ``#atproto_label`` key of its DID document."""
    world_of(context).ozone.labels.verify_signatures()
