"""Eventual consistency for any check: ``Then within 5 seconds, <any Then-step>``.

Apps, relays and indexers catch up in their own time. This step runs the
Then-step it wraps again and again until it passes or the deadline passes,
and then fails with that step's last failure. While it runs, the wrapped
step's own waits (``app_timeout``, ``firehose_timeout``...) are cut to the
time left, so the deadline holds. A wrapped step that is used wrongly (an
unknown account, an undefined sentence) fails at once.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from behave import then

from ..errors import UsageError
from ..waiting import Deadline, poll
from ..world.eventual import MAX_INTERVAL
from .support import StepFailed, StepUsageError, atproto_step, world_of

#: How often a long ``within`` wait says it is still waiting (seconds).
PROGRESS_EVERY = 15.0


def _match(context: Any, sentence: str) -> Any:
    """behave's match of ``sentence`` as a Then-step, or an error saying it matches none."""
    from behave.model import Step
    from behave.step_registry import registry as global_registry

    if sentence.startswith("within "):
        raise UsageError("'within N seconds, ...' cannot wrap another 'within' step")
    registry = getattr(getattr(context, "_runner", None), "step_registry", None) or global_registry
    match = registry.find_match(Step("<within>", 0, "Then", "then", sentence))
    if match is None:
        raise UsageError(f"no Then-step matches {sentence!r} (the step catalog lists them: docs/steps.md)")
    return match


def _within(context: Any, seconds: float, sentence: str) -> None:
    world = world_of(context)
    cap = world.settings.max_wait
    if seconds > cap:
        raise UsageError(
            f"'within {seconds:g} seconds' waits longer than max_wait allows ({cap:g}s): a check that needs that "
            "long is a hang in CI; raise the cap with -D max_wait=SECONDS if it is meant"
        )
    match = _match(context, sentence)
    deadline = Deadline(seconds)
    last: list[BaseException] = []
    # A step about the latest response judges a new one each time: the query is sent again (never a procedure).
    asks_again = getattr(match.func, "reads_last_response", False)
    last_call = world.last_attempt.call if world.last_attempt is not None else None
    if asks_again and (world.last_attempt is None or world.last_attempt.again is None):
        what = f"a procedure ({last_call.nsid}, a POST)" if last_call is not None else "no query"
        raise UsageError(
            f"'within {seconds:g} seconds, {sentence}' would judge one response again and again: the latest request "
            f"is {what}, which is not sent again (it would change things); check it without 'within', or query"
        )

    said = [time.monotonic()]

    def attempt() -> bool | None:
        if time.monotonic() - said[0] >= PROGRESS_EVERY:  # a long wait says it is alive, in a CI log too
            said[0] = time.monotonic()
            waited = seconds - deadline.remaining
            reason = str(last[0]).splitlines()[-1].strip() if last else "(no attempt finished yet)"
            sys.__stderr__.write(
                f"atproto-bdd: still waiting ({waited:.0f}s of {seconds:g}s) for '{sentence}'; last: {reason}\n"
            )
        if last and asks_again:
            world.repeat_last_query()
        with world.waits_at_most(deadline.remaining):
            try:
                match.run(context)
            except StepUsageError:
                raise
            except (StepFailed, AssertionError) as exc:
                last[:] = [exc]
                return None
        return True

    def failure() -> AssertionError:
        reason = str(last[0]) if last else "(no attempt finished)"
        reason = reason.removeprefix(f"{world.current_step}\n").strip()  # the wrapped step names the outer one
        return AssertionError(f"'{sentence}' did not pass within {seconds:g}s; its last failure:\n  {reason}")

    poll(attempt, timeout=seconds, on_timeout=failure, max_interval=MAX_INTERVAL)


@then("within {seconds:Seconds} seconds, {sentence}")
@atproto_step
def then_within_seconds(context: Any, seconds: float, sentence: str) -> None:
    """Runs the Then-step SENTENCE until it passes, for up to SECONDS; then fails with its last failure.

    Example: ``Then within 5 seconds, the feed whats-alf of alice.test shows 2 posts``.
    The wrapped step's docstring or table is the one under this step. A step
    about the latest response (``the response contains:``) gets a new one
    each time: the query is sent again (a procedure never is).
    """
    _within(context, seconds, sentence)


@then("within {seconds:Seconds} second, {sentence}")
@atproto_step
def then_within_second(context: Any, seconds: float, sentence: str) -> None:
    """Like "within N seconds, ..." (singular: ``within 1 second, ...``)."""
    _within(context, seconds, sentence)
