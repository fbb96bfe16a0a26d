"""Every sentence of our features, and every sentence the issues promise, matches exactly one step."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest
from behave.model import Step
from behave.parser import parse_file
from behave.step_registry import registry

import atproto_bdd.steps  # noqa: F401 - registers the library's steps
from atproto_bdd.steps import (
    account_steps,
    email_steps,
    firehose_steps,
    identity_steps,
    lifecycle_steps,
    oauth_steps,
    pds_steps,
    record_steps,
    relay_steps,
    request_steps,
    seeding_steps,
    sync_steps,
)

ROOT = Path(__file__).resolve().parents[1]
for module in sorted((ROOT / "steps").glob("*.py")):
    runpy.run_path(str(module))  # the project's own steps, as behave would load them


def matches(keyword: str, text: str) -> list:
    step = Step("test.feature", 1, keyword.capitalize(), keyword, text)
    return [m for m in registry.steps[keyword] + registry.steps["step"] if m.match(step.name)]


def feature_steps() -> list[tuple[str, str, str]]:
    found = []
    for path in sorted((ROOT / "features").glob("*.feature")):
        feature = parse_file(str(path))
        for scenario in feature.walk_scenarios():
            for step in scenario.all_steps:
                found.append((f"{path.name}:{step.line}", step.step_type, step.name))
    return found


@pytest.mark.parametrize("where,keyword,text", feature_steps(), ids=lambda v: str(v))
def test_feature_step_matches_exactly_one_definition(where: str, keyword: str, text: str) -> None:
    found = matches(keyword, text)
    assert len(found) == 1, f"{where}: {keyword} {text!r} matches {[m.pattern for m in found]}"


PROMISED = [
    ("given", "a PDS named A", pds_steps.given_a_pds),
    ("given", "an account alice.test on PDS A", account_steps.given_account_on_pds),
    ("given", "an account alice.test", account_steps.given_account),
    ("given", "the following accounts:", account_steps.given_accounts_table),
    ("when", 'alice.test posts "Hello world"', record_steps.when_posts),
    ("when", "alice.test creates a com.example.project record:", record_steps.when_creates_record),
    ("when", "bob.test follows alice.test", record_steps.when_follows),
    ("when", "bob.test likes alice.test's latest post", record_steps.when_likes_latest_post),
    ("when", "bob.test reposts alice.test's latest post", record_steps.when_reposts_latest_post),
    ("when", "alice.test deletes their latest post", record_steps.when_deletes_latest_post),
    ("then", "alice.test has 2 app.bsky.feed.post records", record_steps.then_has_records),
    ("then", "alice.test has 1 app.bsky.feed.post record", record_steps.then_has_records),
    ("then", 'alice.test\'s latest post has text "Hello world"', record_steps.then_latest_post_text),
    ("when", "alice.invalid tries to create an account on PDS A", account_steps.when_try_create_account_on_pds),
    ("then", "the request fails with error InvalidHandle", request_steps.then_request_fails_with_error),
    (
        "then",
        "the request fails with status 400 and error InvalidHandle",
        request_steps.then_request_fails_with_status_and_error,
    ),
    # firehose, repo sync, blobs, identity, seeding
    ("then", "the firehose of PDS A shows a commit by alice.test", firehose_steps.then_firehose_shows_commit),
    (
        "then",
        "the firehose of PDS A shows a commit by alice.test creating app.bsky.feed.post",
        firehose_steps.then_firehose_shows_commit_op,
    ),
    (
        "then",
        "the firehose of PDS A shows a commit by alice.test deleting app.bsky.feed.post",
        firehose_steps.then_firehose_shows_commit_op,
    ),
    ("then", "the firehose of PDS A shows an identity event for alice.test", firehose_steps.then_firehose_shows_event),
    ("then", "the firehose of PDS A shows an account event for alice.test", firehose_steps.then_firehose_shows_event),
    ("then", "the firehose of PDS A shows no commit by bob.test", firehose_steps.then_firehose_shows_no_commit),
    (
        "then",
        "replaying the firehose of PDS A from cursor 0 shows 2 commits by alice.test creating app.bsky.feed.post",
        firehose_steps.then_replay_shows_commits,
    ),
    (
        "then",
        "the exported repo of alice.test contains 2 app.bsky.feed.post records",
        sync_steps.then_exported_repo_contains,
    ),
    (
        "then",
        "the exported repo of alice.test has a valid commit signature",
        sync_steps.then_exported_repo_signature_valid,
    ),
    ("when", "alice.test uploads a 2048 byte image/png blob", sync_steps.when_uploads_blob),
    ("then", "the latest blob of alice.test downloads unchanged", sync_steps.then_latest_blob_downloads),
    ("then", "alice.test's handle resolves to their DID on PDS A", identity_steps.then_handle_resolves),
    (
        "then",
        "the DID document of alice.test names PDS A as its service endpoint",
        identity_steps.then_did_document_names_pds,
    ),
    ("given", "the following posts:", seeding_steps.given_posts_table),
    ("given", "the network described by:", seeding_steps.given_network_described_by),
    # relay
    ("given", "a relay crawling PDS A", relay_steps.given_relay_crawling),
    ("given", "a relay crawling PDS A and PDS B", relay_steps.given_relay_crawling),
    ("then", "the relay firehose shows a commit", relay_steps.then_relay_shows_any_commit),
    ("then", "the relay firehose shows a commit by alice.test", relay_steps.then_relay_shows_commit),
    (
        "then",
        "the relay firehose shows a commit by alice.test creating app.bsky.feed.post",
        relay_steps.then_relay_shows_commit_op,
    ),
    ("then", "the relay firehose shows no commit by carol.test", relay_steps.then_relay_shows_no_commit),
    ("then", "the relay lists PDS A as a host", relay_steps.then_relay_lists_host),
    (
        "then",
        "replaying the relay firehose from cursor 0 shows 2 commits by alice.test creating app.bsky.feed.post",
        relay_steps.then_relay_replay_shows,
    ),
    ("then", "PDS B resolves alice.test's DID to PDS A", relay_steps.then_pds_resolves_did),
    # account lifecycle, moderation, email, rate limits, OAuth
    ("when", "alice.test deactivates their account", lifecycle_steps.when_deactivates),
    ("when", "alice.test reactivates their account", lifecycle_steps.when_reactivates),
    ("then", "alice.test's account is active", lifecycle_steps.then_account_state),
    ("then", "alice.test's account is deactivated", lifecycle_steps.then_account_state),
    ("when", "the admin of PDS A takes down alice.test", lifecycle_steps.when_admin_takes_down),
    ("when", "the admin of PDS A restores alice.test", lifecycle_steps.when_admin_restores),
    ("then", "signing in as alice.test fails with error AccountTakedown", lifecycle_steps.then_sign_in_fails),
    ("then", "alice.test can sign in", lifecycle_steps.then_can_sign_in),
    ("when", "alice.test deletes their account", lifecycle_steps.when_deletes_account),
    (
        "then",
        "the firehose of PDS A shows an account event for alice.test with status deactivated",
        firehose_steps.then_firehose_shows_event_with_status,
    ),
    ("given", "a PDS named A that captures email", pds_steps.given_a_pds_capturing_email),
    ("when", "alice.test requests email confirmation", email_steps.when_requests_email_confirmation),
    ("then", "alice.test receives an email", email_steps.then_receives_email),
    ("when", "alice.test confirms their email with the emailed token", email_steps.when_confirms_email),
    ("then", "alice.test's email is confirmed", email_steps.then_email_confirmed),
    ("when", "alice.test requests a password reset", email_steps.when_requests_password_reset),
    (
        "when",
        'alice.test resets their password to "n3w-secret" with the emailed token',
        email_steps.when_resets_password,
    ),
    ("then", 'alice.test can sign in with password "n3w-secret"', lifecycle_steps.then_can_sign_in_with),
    ("given", "a PDS named A with rate limits", pds_steps.given_a_pds_with_rate_limits),
    ("when", "alice.test exhausts the createSession rate limit", lifecycle_steps.when_exhausts_create_session),
    (
        "then",
        "signing in as alice.test fails with status 429 and error RateLimitExceeded",
        lifecycle_steps.then_sign_in_fails,
    ),
    ("when", "alice.test signs in with OAuth", oauth_steps.when_signs_in_with_oauth),
    ("then", "alice.test's OAuth session can create a post", oauth_steps.then_oauth_session_can_post),
    (
        "then",
        "a request with alice.test's OAuth access token but without a DPoP proof fails with status 401",
        oauth_steps.then_request_without_proof_fails,
    ),
    ("when", "alice.test's OAuth tokens are refreshed", oauth_steps.when_oauth_tokens_refreshed),
    ("when", "alice.test's OAuth session is revoked", oauth_steps.when_oauth_session_revoked),
    ("then", "alice.test's OAuth session is rejected", oauth_steps.then_oauth_session_rejected),
]


@pytest.mark.parametrize("keyword,text,func", PROMISED, ids=[p[1] for p in PROMISED])
def test_promised_sentences_reach_their_step(keyword: str, text: str, func) -> None:
    found = matches(keyword, text)
    assert [m.func.__wrapped__ for m in found] == [func.__wrapped__]


def test_pds_lists_are_parsed() -> None:
    (matcher,) = matches("given", "a relay crawling PDS A, PDS eu-west and PDS C")
    (argument,) = matcher.match("a relay crawling PDS A, PDS eu-west and PDS C").arguments
    assert argument.value == ["A", "eu-west", "C"]


def test_typed_parameters_are_converted() -> None:
    (matcher,) = matches("then", "Alice.Test has no app.bsky.feed.post records")
    args = {arg.name: arg.value for arg in matcher.match("Alice.Test has no app.bsky.feed.post records").arguments}
    assert args == {"handle": "alice.test", "count": 0, "collection": "app.bsky.feed.post"}


@pytest.mark.parametrize(
    "keyword,text",
    [
        ("given", "an account alice"),  # not a handle
        ("given", "an account alice.test on PDS the big one"),  # not a PDS name
        ("then", "alice.test has 2 app.bsky records"),  # not an NSID
        ("then", "alice.test has many app.bsky.feed.post records"),  # not a count
    ],
)
def test_malformed_values_match_nothing(keyword: str, text: str) -> None:
    assert matches(keyword, text) == []


def test_every_library_step_has_a_docstring() -> None:
    undocumented = [
        m.pattern
        for keyword in ("given", "when", "then", "step")
        for m in registry.steps[keyword]
        if m.func.__module__.startswith("atproto_bdd.steps") and not (m.func.__doc__ or "").strip()
    ]
    assert undocumented == []
