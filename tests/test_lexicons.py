"""A project's lexicons: files read strictly, documents checked by @atproto/lexicon, records and calls validated.

The pure part reads files (bad JSON, missing fields, one id twice, the config key). The rest runs the
reference libraries in the embedded runtime's Node host on the line ATPROTO_BDD_PDS_VERSION picks:
@atproto/lexicon for the project's documents, the PDS's own schemas for app.bsky.* - and real PDSes.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from atproto_bdd.errors import UsageError
from atproto_bdd.protocol.lexicon_docs import load_lexicon_docs, parse_lexicon_doc
from atproto_bdd.services import LocalRuntime
from atproto_bdd.services.app_config import load_config
from atproto_bdd.services.docker_runtime.runtime import DockerRuntime
from atproto_bdd.services.lexicons import PDS_LEXICONS
from atproto_bdd.session import RunSession
from atproto_bdd.settings import Settings
from atproto_bdd.world import World

LEXICONS = Path(__file__).resolve().parent.parent / "lexicons"
STATUS = "xyz.statusphere.status"
GET_STATUSES = "xyz.statusphere.getStatuses"
NOW = "2026-12-07T12:00:00.000Z"

# -- files, without services ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"lexicon": 1,', r"x\.json: not valid JSON at line 1 column 15: Expecting property name"),
        ("[1]", r"x\.json: a lexicon document is a JSON object, not list"),
        ('{"id": "a.b.c", "defs": {}}', r"x\.json: at lexicon: expected 1 .*got nothing"),
        ('{"lexicon": true, "id": "a.b.c", "defs": {}}', r"at lexicon: expected 1 .*got true"),
        ('{"lexicon": 1, "id": "not an nsid", "defs": {}}', r'at id: expected an NSID .*got "not an nsid"'),
        ('{"lexicon": 1, "id": "a.b.c"}', r"at defs: expected an object of definitions, got nothing"),
        ('{"lexicon": 1, "id": "a.b.c", "id": "a.b.d", "defs": {}}', r"the key 'id' appears twice"),
    ],
)
def test_a_bad_document_is_refused_naming_the_file_and_the_place(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_lexicon_doc(text, "x.json")


def test_documents_are_found_in_directories_and_one_id_twice_is_refused(tmp_path: Path) -> None:
    shutil.copytree(LEXICONS, tmp_path / "lexicons")
    docs = load_lexicon_docs([tmp_path / "lexicons"])
    assert sorted(doc.id for doc in docs) == [GET_STATUSES, STATUS]
    copy = tmp_path / "more" / "status.json"
    copy.parent.mkdir()
    shutil.copy(LEXICONS / "xyz" / "statusphere" / "status.json", copy)
    with pytest.raises(UsageError, match=rf"the lexicon {STATUS} is defined twice: in .*status\.json and in .*more"):
        load_lexicon_docs([tmp_path / "lexicons", copy])
    with pytest.raises(UsageError, match=r"the lexicon path .*nowhere does not exist"):
        load_lexicon_docs([tmp_path / "nowhere"])


def test_the_config_names_lexicon_paths_and_lexicons_beside_features_are_the_default(tmp_path: Path) -> None:
    assert load_config(tmp_path).lexicons == ()
    (tmp_path / "lexicons").mkdir()
    assert load_config(tmp_path).lexicons == (tmp_path / "lexicons",)
    (tmp_path / "atproto-bdd.toml").write_text('lexicons = ["shared/lexicons", "one.json"]\n')
    assert load_config(tmp_path).lexicons == (tmp_path / "shared/lexicons", tmp_path / "one.json")
    (tmp_path / "atproto-bdd.toml").write_text('lexicons = "lexicons"\n')
    with pytest.raises(UsageError, match=r"atproto-bdd.toml: lexicons must be a list of paths .*got 'lexicons'"):
        load_config(tmp_path)


def test_the_docker_runtime_refuses_to_check_lexicons_saying_where_it_can() -> None:
    with pytest.raises(UsageError, match=r"the docker runtime cannot check lexicons: .*-D runtime=local"):
        DockerRuntime(Settings()).lexicon_validator([])


# -- with the reference libraries and real PDSes ---------------------------------------------


@pytest.fixture
def world(runtime: LocalRuntime) -> Iterator[World]:
    world = World(runtime)
    world.lexicon_docs = load_lexicon_docs([LEXICONS])
    try:
        world.add_pds("A")
        yield world
    finally:
        world.close(wait=True)


def test_records_are_judged_by_the_project_lexicon_or_the_pds_line_with_their_own_messages(world: World) -> None:
    lexicons = world.lexicons
    good = lexicons.validate_record(STATUS, {"$type": STATUS, "status": "🦋", "createdAt": NOW})
    assert good.known and good.valid and good.by.endswith("status.json"), good
    missing = lexicons.validate_record(STATUS, {"$type": STATUS, "status": "🦋"})
    assert not missing.valid and missing.message == 'Record must have the property "createdAt"', missing
    long = lexicons.validate_record(STATUS, {"$type": STATUS, "status": "🦋🦋", "createdAt": NOW})
    assert long.message == "Record/status must not be longer than 1 graphemes", long
    # app.bsky.* by the PDS line's own schemas: what the PDS itself says of such a write.
    post = lexicons.validate_record("app.bsky.feed.post", {"$type": "app.bsky.feed.post", "text": "hi"})
    assert post.known and not post.valid and post.by == PDS_LEXICONS and "createdAt" in post.message, post
    assert not lexicons.validate_record("com.example.unknown", {"$type": "com.example.unknown"}).known


def test_every_record_of_the_scenario_is_checked_and_unknown_ones_are_listed_not_passed(world: World) -> None:
    alice = world.create_account("alice.test")
    alice.post("a post, checked by the PDS line's schemas")
    alice.create_record(STATUS, {"status": "👍", "createdAt": NOW})
    alice.create_record("com.example.unknown", {"anything": 1})
    outcome = world.lexicons.expect_scenario_records_valid()
    assert len(outcome.checked) == 2 and [r.collection for r in outcome.unchecked] == ["com.example.unknown"]
    assert "unchecked (no lexicon known): 1 of com.example.unknown" in outcome.summary()

    bad = alice.create_record(STATUS, {"status": "👍"})  # the PDS stores it: it does not know the lexicon
    with pytest.raises(AssertionError) as failure:
        world.lexicons.expect_scenario_records_valid()
    message = str(failure.value)
    assert f"{bad.uri} (alice.test's {STATUS}" in message and 'Record must have the property "createdAt"' in message
    assert message.startswith("1 record(s) written in this scenario are not valid"), message


def test_a_record_from_fields_is_typed_by_the_lexicon_and_unknown_fields_are_refused(world: World) -> None:
    lexicons = world.lexicons
    record = lexicons.record_from_fields(STATUS, {"status": "🦋"})
    assert record["$type"] == STATUS and record["status"] == "🦋" and record["createdAt"].endswith("Z")
    assert lexicons.validate_record(STATUS, record).valid
    with pytest.raises(UsageError, match=rf"{STATUS} has no field 'mood'; its fields: status, createdAt"):
        lexicons.record_from_fields(STATUS, {"mood": "🦋"})
    with pytest.raises(UsageError, match=r"needs its lexicon's document, and app.bsky.feed.post is not a record"):
        lexicons.record_from_fields("app.bsky.feed.post", {"text": "hi"})


def test_calls_are_checked_part_by_part(world: World) -> None:
    lexicons = world.lexicons
    view = {"uri": f"at://did:plc:abc/{STATUS}/3k", "author": "did:plc:abc", "status": "🦋", "createdAt": NOW}
    assert lexicons.expect_valid_call(GET_STATUSES, params={"limit": 10}, output={"statuses": [view]})
    check = lexicons.validate_call(GET_STATUSES, params={"limit": 0}, output={"statuses": [{**view, "uri": "x"}]})
    assert check.problems == {
        "params": "limit can not be less than 1",
        "output": "Output/statuses/0/uri must be a valid at-uri",
    }, check
    with pytest.raises(AssertionError, match=r"no lexicon describes the method xyz.nope.get; the project's"):
        lexicons.expect_valid_call("xyz.nope.get", output={})
    # A method of the PDS line: its own schemas.
    feed = lexicons.validate_call("app.bsky.feed.getFeedSkeleton", output={"feed": [{"post": "not a uri"}]})
    assert feed.known and "Invalid at-uri" in feed.problems["output"], feed


def test_a_malformed_definition_stops_the_run_before_any_network(tmp_path: Path) -> None:
    status = json.loads((LEXICONS / "xyz" / "statusphere" / "status.json").read_text())
    status["defs"]["main"]["record"]["properties"]["status"]["type"] = "strin"
    (tmp_path / "lexicons").mkdir()
    (tmp_path / "lexicons" / "status.json").write_text(json.dumps(status))
    session = RunSession(Settings.load(), tmp_path)
    try:
        with pytest.raises(UsageError, match=r"status\.json: at .*properties\.status\.type: Invalid discriminator"):
            session.start()
    finally:
        session.close()


VALIDATED = """Feature: records checked at each scenario's end
  Scenario: a good status
    Given a PDS named A
    And an account alice.test on PDS A
    When alice.test creates a xyz.statusphere.status record with:
      | field  | value |
      | status | 👍    |

  Scenario: a status without its createdAt
    Given a PDS named A
    And an account alice.test on PDS A
    When alice.test creates a xyz.statusphere.status record:
      \"\"\"
      {"status": "👍"}
      \"\"\"
"""


def test_validate_records_fails_a_scenario_that_wrote_an_invalid_record_and_only_that_one(tmp_path: Path) -> None:
    (tmp_path / "features").mkdir()
    (tmp_path / "steps").mkdir()
    (tmp_path / "features" / "statuses.feature").write_text(VALIDATED)
    (tmp_path / "steps" / "atproto_steps.py").write_text("from atproto_bdd.steps import *\n")
    (tmp_path / "environment.py").write_text("from atproto_bdd.hooks import *\n")
    shutil.copytree(LEXICONS, tmp_path / "lexicons")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "behave",
            "--no-color",
            "-f",
            "plain",
            "-D",
            "report_dir=",
            "-D",
            "validate_records=true",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = run.stdout + run.stderr
    assert run.returncode != 0, output
    assert "1 scenario passed, 0 failed, 1 hook_error" in output, output  # behave's name for a failed after-hook
    assert "validate_records: 1 record(s) written in this scenario are not valid" in output, output
    assert 'Record must have the property "createdAt"' in output and '"status": "👍"' in output, output


def test_a_collection_that_is_nearly_a_known_lexicon_is_refused_as_a_typo(world: World) -> None:
    world.create_account("alice.test")
    with pytest.raises(UsageError, match=r"app.bsky.feed.pots is no collection .* but app.bsky.feed.post is: a typo"):
        world.lexicons.refuse_near_miss("app.bsky.feed.pots")
    with pytest.raises(UsageError, match=r"xyz.statusphere.stauts .* but xyz.statusphere.status is"):
        world.event_query("commit", "alice.test", collection="xyz.statusphere.stauts")
    for fine in ("app.bsky.feed.post", STATUS, "com.example.bookmark"):  # known, or far from every known name
        world.lexicons.refuse_near_miss(fine)


def test_without_the_reference_libraries_the_typo_check_knows_bluesky_records() -> None:
    from types import SimpleNamespace

    from atproto_bdd.world.lexicons import Lexicons

    docker_like = SimpleNamespace(runtime=DockerRuntime(Settings()))  # refuses lexicon_validator
    lexicons = Lexicons(docker_like, [], None)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match=r"app.bsky.feed.pots is no collection .* but app.bsky.feed.post is"):
        lexicons.refuse_near_miss("app.bsky.feed.pots")
    lexicons.refuse_near_miss("com.example.bookmark")
