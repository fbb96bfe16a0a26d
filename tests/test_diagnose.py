from __future__ import annotations

from behave.step_registry import registry

import atproto_bdd.steps  # noqa: F401
from atproto_bdd.steps.diagnose import explain_undefined


def test_invalid_handle_is_explained() -> None:
    reasons = explain_undefined(registry, "given", "an account alice")
    assert reasons == [
        "'alice' is not a valid Handle (expected a handle such as alice.test (passed on lower-cased)) "
        "for step 'an account {handle:Handle}': a handle has at least two labels separated by a dot, such as "
        "alice.test"
    ]


def test_a_handle_is_explained_by_the_rule_it_breaks_and_empty_quotes_are_named() -> None:
    (reason,) = explain_undefined(registry, "given", "an account " + "x" * 70 + ".test")
    assert reason.endswith(": label too long: xxxxxxxxxxxxxxxxxxxx...(70 characters) (70 > 63 characters between dots)")
    (reason,) = explain_undefined(registry, "then", 'the request fails with error InvalidRequest saying ""')
    assert reason.startswith(
        "the quotes are empty: the step 'the request fails with error {error:ErrorName} saying \"{text}\"' takes a "
        "text between them"
    ), reason


def test_invalid_pds_name_is_explained() -> None:
    (reason,) = explain_undefined(registry, "given", "an account alice.test on PDS the big one")
    assert reason.startswith("'the big one' is not a valid PdsName")


def test_unrelated_text_gets_no_explanation() -> None:
    assert explain_undefined(registry, "given", "the moon is made of cheese") == []


def test_a_poll_is_one_line_of_the_transcript() -> None:
    from atproto_bdd.diagnostics import transcript_lines
    from atproto_bdd.protocol.xrpc import XrpcExchange

    poll = [XrpcExchange("PDS A", "GET", "com.atproto.repo.listRecords", 200, duration_ms=t) for t in (4.1, 7.3, 5.0)]
    write = XrpcExchange("PDS A", "POST", "com.atproto.repo.createRecord", 200, duration_ms=9.0)
    assert transcript_lines([write, *poll, *poll[:2], write]) == [
        "[PDS A] POST com.atproto.repo.createRecord -> 200 (9.0 ms)",
        "[PDS A] GET com.atproto.repo.listRecords -> 200 (x5 in a row, 4.1-7.3 ms)",
        "[PDS A] POST com.atproto.repo.createRecord -> 200 (9.0 ms)",
    ]
    assert transcript_lines(poll[:2]) == [exchange.summary() for exchange in poll[:2]]  # two alike stay two
