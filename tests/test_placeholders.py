from __future__ import annotations

import re

import pytest

from atproto_bdd.errors import UsageError
from atproto_bdd.world import placeholders


def test_account_fields(scope) -> None:
    text = (
        "${alice.test.did} ${alice.test.handle} ${alice.test.latest.uri} "
        "${alice.test.latest.cid} ${alice.test.latest.rkey}"
    )
    assert placeholders.resolve_text(text, scope) == (
        "did:plc:alice alice.test at://did:plc:alice/app.bsky.feed.post/3kabc bafyreiabc 3kabc"
    )


def test_pds_fields_and_now(scope) -> None:
    assert placeholders.resolve_text("${A.url}|${A.did}", scope) == "http://localhost:1234|did:web:localhost%3A1234"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", placeholders.resolve_text("${now}", scope))


def test_handles_are_case_insensitive(scope) -> None:
    assert placeholders.resolve_text("${Alice.Test.did}", scope) == "did:plc:alice"


def test_unknown_placeholder_lists_known_ones(scope) -> None:
    with pytest.raises(UsageError) as caught:
        placeholders.resolve_text('{"owner": "${carol.test.did}"}', scope)
    message = str(caught.value)
    assert message.startswith("unknown placeholder ${carol.test.did}; known placeholders: ${now}, ${A.url}")
    assert "${alice.test.latest.uri}" in message and "${bob.test.did}" in message


def test_unknown_field_of_a_known_account(scope) -> None:
    with pytest.raises(UsageError, match=r"unknown placeholder \$\{alice\.test\.dud\}"):
        placeholders.resolve_text("${alice.test.dud}", scope)


def test_latest_without_records_says_so(scope) -> None:
    with pytest.raises(UsageError, match="bob.test's repository holds no record"):
        placeholders.resolve_text("${bob.test.latest.uri}", scope)


def test_an_accounts_credentials(scope) -> None:
    resolved = placeholders.resolve_text("${alice.test.password} ${alice.test.app_password}", scope)
    assert resolved == "pw-of-the-account app-pw-of-the-account"


def test_resolve_data_walks_nested_values_and_keys(scope) -> None:
    data = {
        "by": "${alice.test.did}",
        "refs": [{"uri": "${alice.test.latest.uri}"}, 5, None],
        "${bob.test.handle}": True,
    }
    assert placeholders.resolve_data(data, scope) == {
        "by": "did:plc:alice",
        "refs": [{"uri": "at://did:plc:alice/app.bsky.feed.post/3kabc"}, 5, None],
        "bob.test": True,
    }


def test_text_without_placeholders_is_unchanged(scope) -> None:
    assert placeholders.resolve_text("cost: $5 {not one}", scope) == "cost: $5 {not one}"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("${A.url", r"a placeholder without its closing brace: '\$\{A\.url'"),
        ("${alice.test.did} and ${bob", r"without its closing brace: '\$\{bob'"),
        ('"$alice.test.did}"', r"without its opening brace: '\$alice\.test\.did\}' .*\(write \$\{alice\.test\.did\}\)"),
    ],
)
def test_a_half_written_placeholder_is_an_error_not_text(scope, text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        placeholders.resolve_text(text, scope)


def test_a_literal_dollar_brace_is_written_doubled(scope) -> None:
    assert placeholders.resolve_text("echo $${HOME} as ${alice.test.handle}", scope) == "echo ${HOME} as alice.test"
    assert placeholders.resolve_text("costs $5} or $ alone", scope) == "costs $5} or $ alone"


def test_a_value_of_the_latest_response_is_a_placeholder(scope) -> None:
    from atproto_bdd.world import Attempt

    with pytest.raises(UsageError, match=r"\$\{response.cursor\} needs a response: use a \"queries\""):
        placeholders.resolve_text("${response.cursor}", scope)
    scope.last_attempt = Attempt("alice.test queries x", result={"cursor": "abc", "feed": [{"n": 2}]})
    assert placeholders.resolve_text("${response.cursor}/${response.feed.0.n}", scope) == "abc/2"
    with pytest.raises(UsageError, match=r"has no field 'feed.1': feed is a list of 1"):
        placeholders.resolve_text("${response.feed.1}", scope)
