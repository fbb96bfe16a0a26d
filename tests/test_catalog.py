from __future__ import annotations

from pathlib import Path

from atproto_bdd.catalog import collect, render

ROOT = Path(__file__).resolve().parents[1]


def test_docs_steps_md_is_up_to_date() -> None:
    current = (ROOT / "docs" / "steps.md").read_text()
    assert current == render(), "docs/steps.md is out of date: run ./dev catalog"


def test_catalog_lists_every_step_with_its_doc() -> None:
    docs = collect()
    sentences = [s for d in docs for s in d.sentences]
    assert "Given a PDS named {name:PdsName}" in sentences
    assert "Then {handle:Handle} has {count:Count} {collection:NSID} records" in sentences
    assert all(d.doc for d in docs)
