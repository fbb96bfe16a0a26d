"""Lexicons: records and XRPC answers checked against your lexicons and the PDS line's, records from a table.

Your lexicon documents are read from ``lexicons/`` beside ``features/`` (or
``lexicons = [...]`` in ``atproto-bdd.toml``); ``com.atproto.*`` and
``app.bsky.*`` are the PDS line's own. The reference libraries judge
(``@atproto/lexicon`` for yours, the PDS's own schemas for its), and a failure
quotes them. The embedded runtime only.
"""

from __future__ import annotations

from typing import Any

from behave import given, then, when

from ..errors import UsageError
from .support import atproto_step, reads_last_response, table_rows, world_of


@then("{handle:Handle}'s latest {collection:NSID} record is valid")
@atproto_step
def then_latest_record_valid(context: Any, handle: str, collection: str) -> None:
    """Checks HANDLE's newest COLLECTION record (whoever wrote it) against the lexicon COLLECTION.

    Fails with the library's message (``Record must have the property
    "createdAt"``) and the record; also when no known lexicon describes COLLECTION.
    """
    world_of(context).lexicons.expect_valid_record(handle, collection)


@then('{handle:Handle}\'s latest {collection:NSID} record is not valid, saying "{text}"')
@atproto_step
def then_latest_record_invalid(context: Any, handle: str, collection: str, text: str) -> None:
    """Checks HANDLE's newest COLLECTION record is invalid against its lexicon, the library's message containing TEXT.

    Write a double quote in TEXT as ``\\"``: ``saying "Record must have the property \\"createdAt\\""``.
    """
    world_of(context).lexicons.expect_invalid_record(handle, collection, text.replace('\\"', '"'))


@then("every record written in this scenario is valid against its lexicon")
@atproto_step
def then_scenario_records_valid(context: Any) -> None:
    """Checks every record created or updated in this scenario, on every PDS, whoever wrote it (apps too).

    Read from each PDS's firehose since the scenario began. Records whose
    collection no known lexicon describes are listed as unchecked in the
    step's output, not passed silently; ``-D validate_records=true`` runs this
    check at the end of every scenario.
    """
    outcome = world_of(context).lexicons.expect_scenario_records_valid()
    print(f"atproto-bdd: {outcome.summary()}")


@given("{handle:Handle} creates a {collection:NSID} record with:")
@when("{handle:Handle} creates a {collection:NSID} record with:")
@atproto_step
def when_creates_record_from_table(context: Any, handle: str, collection: str) -> None:
    """Creates a COLLECTION record from a ``| field | value |`` table, each value typed by your lexicon COLLECTION.

    Strings stay text; integers and booleans are read as such; arrays and
    objects are JSON. Required datetimes left out (``createdAt``) are now; a
    field the lexicon does not have is refused, naming those it has.
    Example::

        When alice.test creates a xyz.statusphere.status record with:
          | field  | value |
          | status | 🦋    |
    """
    world = world_of(context)
    rows = table_rows(context, world, required=["field", "value"])
    fields: dict[str, str] = {}
    for row in rows:
        if row["field"] in fields:
            raise UsageError(f"the table names the field {row['field']!r} twice")
        fields[row["field"]] = row["value"]
    record = world.lexicons.record_from_fields(collection, fields)
    world.account(handle).create_record(collection, record)


@then("the response is valid against its lexicon")
@reads_last_response
@atproto_step
def then_response_valid(context: Any) -> None:
    """Checks the latest query or call (on an app, or a PDS) against its method's lexicon.

    Its parameters, its input and its output are each checked, with the
    library's message for the first problem of each; a call that failed,
    or a method no known lexicon describes, fails the step.
    """
    world = world_of(context)
    attempt = world.last_attempt
    if attempt is None or attempt.call is None:
        raise UsageError(
            'no XRPC call to check: use a "queries ..." or "calls ..." step first '
            "(When bob.test queries xyz.statusphere.getStatuses on the app statusphere)"
        )
    if attempt.failed:
        raise AssertionError(f"{attempt.action} failed ({attempt.error}): there is no response to check")
    call = attempt.call
    world.lexicons.expect_valid_call(call.nsid, params=call.params, input=call.input, output=attempt.result)
