from __future__ import annotations

import io
from types import SimpleNamespace

import pytest

from atproto_bdd.errors import UsageError, XrpcError
from atproto_bdd.masking import MaskingStream, masker
from atproto_bdd.protocol.http import basic_auth
from atproto_bdd.steps.support import StepCrashed, StepFailed, atproto_step, parse_json, table_rows


class Scope:
    accounts: dict = {}
    pdses: dict = {}

    def resolve(self, text: str) -> str:
        return text.replace("${x}", "X")


def table(headings, *rows):
    return SimpleNamespace(headings=headings, rows=[SimpleNamespace(cells=list(r)) for r in rows])


def test_parse_json_points_at_the_error() -> None:
    with pytest.raises(UsageError) as caught:
        parse_json('{"a": 1,\n "b": 2,,}')
    assert str(caught.value) == (
        "the JSON docstring is not valid JSON: Expecting property name enclosed in double quotes "
        "at line 2, column 9 (near '\"b\": 2,,}')"
    )


def test_table_rows_resolve_placeholders() -> None:
    context = SimpleNamespace(table=table(["handle", "pds"], ["alice.test", "${x}"]))
    assert table_rows(context, Scope(), required=["handle"], optional=["pds"]) == [{"handle": "alice.test", "pds": "X"}]


def test_table_rows_name_bad_and_missing_columns() -> None:
    context = SimpleNamespace(table=table(["hndle", "pds"], ["alice.test", "A"]))
    with pytest.raises(UsageError) as caught:
        table_rows(context, Scope(), required=["handle"], optional=["pds"])
    assert str(caught.value) == (
        "the table has unknown column(s) hndle and missing column(s) handle; valid columns: handle, pds (optional)"
    )


def test_table_required() -> None:
    with pytest.raises(UsageError, match="needs a table with columns: handle, pds"):
        table_rows(SimpleNamespace(table=None), Scope(), required=["handle"], optional=["pds"])


def test_atproto_step_names_the_step_and_masks_secrets() -> None:
    secret = masker.new_secret()

    @atproto_step
    def step(context):
        raise XrpcError(401, "AuthRequired", f"bad token {secret}", nsid="com.atproto.x", method="GET")

    context = SimpleNamespace(atproto=SimpleNamespace(current_step="When alice.test does a thing"))
    with pytest.raises(StepFailed) as caught:
        step(context)
    assert str(caught.value) == "When alice.test does a thing\n  GET com.atproto.x: 401 AuthRequired: bad token ***"
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_atproto_step_masks_unexpected_errors_and_keeps_their_traceback() -> None:
    secret = masker.new_secret()

    @atproto_step
    def step(context):
        raise KeyError(f"bug near {secret}")

    with pytest.raises(StepCrashed) as caught:
        step(SimpleNamespace())
    message = str(caught.value)
    assert secret not in message and "KeyError: 'bug near ***'" in message
    assert "Traceback" in message and "raise KeyError" in message


def test_formatter_output_is_masked() -> None:
    secret = masker.new_secret()
    out = io.StringIO()
    stream = MaskingStream(out)
    stream.write(f"Basic auth {secret}\n")
    stream.writelines([f"again {secret}\n"])
    assert out.getvalue() == "Basic auth ***\nagain ***\n"
    assert stream.closed is False  # other attributes reach the wrapped stream


def test_basic_auth_credentials_are_masked() -> None:
    password = masker.new_secret()
    header = basic_auth("admin", password)["authorization"]
    assert masker.mask(f"sent {header}") == "sent Basic ***"
