"""Steps that call any XRPC method and check the outcome of the latest attempt."""

from __future__ import annotations

import json
from typing import Any

from behave import then, when

from ..errors import UsageError, XrpcError
from ..world import Attempt, World, XrpcCall
from ..world.matching import NoSuchField, mismatches, value_at
from .support import (
    atproto_step,
    json_array_docstring,
    json_docstring,
    json_object_docstring,
    query_parameters,
    reads_last_response,
    world_of,
)


def _succeeded(world: World) -> Attempt:
    """The latest attempt, which must have succeeded: a check of its response fails naming its error otherwise."""
    attempt = _last_attempt(world)
    assert not attempt.failed, f"{attempt.action} failed: {attempt.error}"
    return attempt


def _last_attempt(world: World) -> Attempt:
    if world.last_attempt is None:
        raise UsageError('no request to check: use a "tries to ...", "queries ..." or "calls ..." step first')
    return world.last_attempt


@when("{handle:Handle} queries {nsid:NSID}")
@atproto_step
def when_queries(context: Any, handle: str, nsid: str) -> None:
    """Calls the XRPC query NSID (GET) as HANDLE; check it with "Then the request ..." / "the response ..."."""
    world = world_of(context)
    account = world.account(handle)
    world.attempt(f"{handle} queries {nsid}", lambda: account.xrpc_get(nsid), xrpc=XrpcCall(nsid, {}))


@when("{handle:Handle} queries {nsid:NSID} with:")
@atproto_step
def when_queries_with(context: Any, handle: str, nsid: str) -> None:
    """Calls the XRPC query NSID as HANDLE with the JSON docstring's fields as parameters."""
    world = world_of(context)
    what = "the query parameters as a JSON object"
    params = query_parameters(json_object_docstring(context, world, what), what)
    account = world.account(handle)
    world.attempt(f"{handle} queries {nsid}", lambda: account.xrpc_get(nsid, params), xrpc=XrpcCall(nsid, params))


@when("{handle:Handle} calls {nsid:NSID}")
@atproto_step
def when_calls(context: Any, handle: str, nsid: str) -> None:
    """Calls the XRPC procedure NSID (POST) as HANDLE without input."""
    world = world_of(context)
    account = world.account(handle)
    world.attempt(f"{handle} calls {nsid}", lambda: account.xrpc_post(nsid), xrpc=XrpcCall(nsid, procedure=True))


@when("{handle:Handle} calls {nsid:NSID} with:")
@atproto_step
def when_calls_with(context: Any, handle: str, nsid: str) -> None:
    """Calls the XRPC procedure NSID (POST) as HANDLE with the JSON docstring as input."""
    world = world_of(context)
    body = json_object_docstring(context, world, "the procedure's JSON input")
    account = world.account(handle)
    world.attempt(
        f"{handle} calls {nsid}", lambda: account.xrpc_post(nsid, body), xrpc=XrpcCall(nsid, input=body, procedure=True)
    )


@then("the request succeeds")
@reads_last_response
@atproto_step
def then_request_succeeds(context: Any) -> None:
    """Checks the latest "tries to"/"queries"/"calls" step got no XRPC error."""
    _succeeded(world_of(context))


@then("the request fails with error {error:ErrorName}")
@reads_last_response
@atproto_step
def then_request_fails_with_error(context: Any, error: str) -> None:
    """Checks the latest "tries to"/"queries"/"calls" step got the XRPC error ERROR (e.g. ``InvalidHandle``)."""
    _assert_failed(world_of(context), error=error)


@then("the request fails with status {status:d} and error {error:ErrorName}")
@reads_last_response
@atproto_step
def then_request_fails_with_status_and_error(context: Any, status: int, error: str) -> None:
    """Checks the latest "tries to"/"queries"/"calls" step got HTTP STATUS with the XRPC error ERROR."""
    _assert_failed(world_of(context), error=error, status=status)


@then("the request fails with status {status:d}")
@reads_last_response
@atproto_step
def then_request_fails_with_status(context: Any, status: int) -> None:
    """Checks the latest "tries to"/"queries"/"calls" step got HTTP STATUS, whatever the error name."""
    _assert_failed(world_of(context), status=status)


@then('the request fails with error {error:ErrorName} saying "{text}"')
@reads_last_response
@atproto_step
def then_request_fails_saying(context: Any, error: str, text: str) -> None:
    """Checks the latest "tries to"/"queries"/"calls" step got the XRPC error ERROR with TEXT in its message."""
    got = _assert_failed(world_of(context), error=error)
    assert text in got.message, f"the error message is {got.message!r}, expected it to contain {text!r}"


@then("the response contains:")
@reads_last_response
@atproto_step
def then_response_contains(context: Any) -> None:
    """Checks the latest successful "queries"/"calls" output contains the JSON docstring's fields."""
    world = world_of(context)
    expected = json_object_docstring(context, world, "the fields the response contains, as JSON")
    attempt = _succeeded(world)
    problems = mismatches(expected, attempt.result)
    assert not problems, f"the response of {attempt.action} differs:\n    " + "\n    ".join(problems)


@then("the response has the field {path:Word}")
@reads_last_response
@atproto_step
def then_response_has_field(context: Any, path: str) -> None:
    """Checks the latest successful output has the field PATH (dotted for nested objects: ``links.privacyPolicy``)."""
    world = world_of(context)
    attempt = _succeeded(world)
    try:
        value_at(attempt.result, path)
    except NoSuchField as missing:
        raise AssertionError(f"the response of {attempt.action} has {missing}") from None


@then("the response has no field {path:Word}")
@reads_last_response
@atproto_step
def then_response_has_no_field(context: Any, path: str) -> None:
    """Checks the latest response has no field PATH (dots for nesting, numbers for list items: ``feed.0.reason``)."""
    attempt = _succeeded(world_of(context))
    try:
        value = value_at(attempt.result, path)
    except NoSuchField:
        return
    raise AssertionError(f"the response of {attempt.action} has the field {path!r}: {json.dumps(value)[:200]}")


@then("the response's {path:Word} has {count:Count} items")
@then("the response's {path:Word} has {count:Count} item")
@reads_last_response
@atproto_step
def then_response_list_count(context: Any, path: str, count: int) -> None:
    """Counts the items of the list at PATH in the latest response (``the response's statuses has 2 items``)."""
    items = _response_list(world_of(context), path)
    shown = json.dumps(items, ensure_ascii=False)[:400]
    assert len(items) == count, f"the response's {path} has {len(items)} items, expected {count}: {shown}"


@then("the response does not contain:")
@reads_last_response
@atproto_step
def then_response_does_not_contain(context: Any) -> None:
    """Fails if the latest response contains the JSON docstring (the subset ``the response contains:`` would find)."""
    world = world_of(context)
    expected = json_object_docstring(context, world, "the fields the response must not contain, as JSON")
    attempt = _succeeded(world)
    assert mismatches(expected, attempt.result), (
        f"the response of {attempt.action} contains {json.dumps(expected, ensure_ascii=False)}: "
        f"{json.dumps(attempt.result, ensure_ascii=False)[:400]}"
    )


@then("no item of the response's {path:Word} contains:")
@reads_last_response
@atproto_step
def then_no_item_contains(context: Any, path: str) -> None:
    """Fails if an item of the list at PATH in the latest response contains the JSON docstring."""
    world = world_of(context)
    expected = json_docstring(context, world)
    items = _response_list(world, path)
    found = [index for index, item in enumerate(items) if not mismatches(expected, item)]
    assert not found, (
        f"the response's {path}[{found[0]}] contains {json.dumps(expected, ensure_ascii=False)}: "
        f"{json.dumps(items[found[0]], ensure_ascii=False)[:300]}"
    )


@then("the response's {path:Word} contains, in any order:")
@reads_last_response
@atproto_step
def then_list_contains_in_any_order(context: Any, path: str) -> None:
    """Checks the list at PATH holds the docstring's items in any order: each matches a different item, none left.

    Each expected item is a subset, as ``the response contains:`` compares; the
    lists must be as long as each other.
    """
    world = world_of(context)
    expected = json_array_docstring(context, world, "the items expected, in any order, as JSON")
    items = _response_list(world, path)
    left = list(range(len(items)))
    for wanted in expected:
        match = next((index for index in left if not mismatches(wanted, items[index])), None)
        assert match is not None, (
            f"no item of the response's {path} (left: {len(left)}) contains "
            f"{json.dumps(wanted, ensure_ascii=False)}: {json.dumps(items, ensure_ascii=False)[:400]}"
        )
        left.remove(match)
    assert not left, (
        f"the response's {path} has {len(left)} item(s) more than expected: "
        + json.dumps([items[index] for index in left], ensure_ascii=False)[:400]
    )


def _response_list(world: World, path: str) -> list[Any]:
    """The list at ``path`` in the latest successful response; an AssertionError if there is none."""
    attempt = _succeeded(world)
    try:
        items = value_at(attempt.result, path)
    except NoSuchField as missing:
        raise AssertionError(f"the response of {attempt.action} has {missing}") from None
    if not isinstance(items, list):
        raise AssertionError(f"the response's {path} is not a list: {json.dumps(items, ensure_ascii=False)[:200]}")
    return items


def _assert_failed(world: World, *, error: str | None = None, status: int | None = None) -> XrpcError:
    attempt = _last_attempt(world)
    wanted = " and ".join(part for part in (f"status {status}" if status else "", error or "") if part)
    assert attempt.error is not None, f"{attempt.action} succeeded, expected it to fail with {wanted}"
    got = attempt.error
    assert (error is None or got.error == error) and (status is None or got.status_code == status), (
        f"{attempt.action} failed with {got.status_code} {got.error} ({got.message}), expected {wanted}"
    )
    return got
