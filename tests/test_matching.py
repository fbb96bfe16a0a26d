from __future__ import annotations

from atproto_bdd.world.matching import mismatches


def test_subset_of_object_matches() -> None:
    assert mismatches({"a": 1, "b": {"c": "x"}}, {"a": 1, "b": {"c": "x", "d": 2}, "e": 3}) == []


def test_differences_are_named_by_path() -> None:
    problems = mismatches({"a": 1, "b": {"c": "x"}, "z": None}, {"a": 2, "b": {"c": "y"}})
    assert problems == ["$.a: expected 1, got 2", '$.b.c: expected "x", got "y"', "$.z: missing (expected null)"]


def test_lists_match_item_by_item() -> None:
    assert mismatches([1, {"a": 1}], [1, {"a": 1, "b": 2}]) == []
    assert mismatches([1, 2], [1]) == ["$: expected 2 items, got 1: [1]"]
    assert mismatches({"l": [1]}, {"l": "x"}) == ['$.l: expected a list, got "x"']


def test_types_matter_except_between_numbers() -> None:
    assert mismatches({"n": 5}, {"n": 5.0}) == []
    assert mismatches({"n": "5"}, {"n": 5}) == ['$.n: expected "5", got 5']
    assert mismatches({"b": True}, {"b": 1}) == ["$.b: expected true, got 1"]
