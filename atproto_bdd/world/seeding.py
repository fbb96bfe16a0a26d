"""Declarative seeding: a whole network described as data (from YAML or JSON).

::

    pdses: [A, B]                      # optional; started first
    accounts:                          # a handle, or {handle, pds}
      - alice.test
      - {handle: bob.test, pds: B}
    posts:
      - {author: alice.test, text: Hello}
    follows:
      - {follower: bob.test, subject: alice.test}
    likes:                             # post: whose latest post
      - {by: bob.test, post: alice.test}
    reposts:
      - {by: bob.test, post: alice.test}
    records:
      - {author: alice.test, collection: com.example.project, record: {name: x}}

Sections are applied in that order, items in their order; placeholders in an
item are resolved just before it is applied, so ``${alice.test.latest.uri}``
means the latest record at that point. Accounts named anywhere but not listed
are created on the network's only PDS.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from .bsky import POST

if TYPE_CHECKING:
    from .world import World

SECTIONS: dict[str, tuple[list[str], list[str]]] = {
    # section: (required keys, optional keys) of each item
    "accounts": (["handle"], ["pds"]),
    "posts": (["author", "text"], []),
    "follows": (["follower", "subject"], []),
    "likes": (["by", "post"], []),
    "reposts": (["by", "post"], []),
    "records": (["author", "collection", "record"], []),
}


def apply_description(world: World, description: Any) -> None:
    """Create what ``description`` describes in ``world``'s network.

    The whole description is checked first (sections, keys, types): a
    mistake anywhere in it fails before anything is created.
    """
    pdses, sections = check_description(description)
    for name in pdses:
        world.ensure_pds(name)
    for section, apply in _APPLY.items():
        for item in sections[section]:
            apply(world, world.resolve_data(item))


def check_description(description: Any) -> tuple[list[str], dict[str, list[dict[str, Any]]]]:
    """The PDS names and each section's items of ``description``; a UsageError naming the first mistake."""
    if not isinstance(description, Mapping):
        raise UsageError(
            f"the network description must be a mapping of sections, got {_kind(description)} "
            f"(sections: pdses, {', '.join(SECTIONS)})"
        )
    valid = ["pdses", *SECTIONS]
    unknown = [key for key in description if key not in valid]
    if unknown:
        raise UsageError(f"unknown section(s) {', '.join(map(str, unknown))}; valid sections: {', '.join(valid)}")
    pdses = description.get("pdses") or []
    if not isinstance(pdses, list):
        raise UsageError(f"pdses must be a list of PDS names, got {_kind(pdses)}")
    for index, name in enumerate(pdses):
        if isinstance(name, bool) or not isinstance(name, (str, int)):
            raise UsageError(f"pdses[{index}] must be a PDS name (text), got {_kind(name)} {name!r}")
    sections: dict[str, list[dict[str, Any]]] = {}
    for section in _APPLY:
        items = description.get(section) or []
        if not isinstance(items, list):
            raise UsageError(f"{section} must be a list, got {_kind(items)}")
        sections[section] = [_item(section, index, raw) for index, raw in enumerate(items)]
    return [str(name) for name in pdses], sections


def _kind(value: Any) -> str:
    """A YAML value's type as a message says it: list, dict, str, int, float, bool, NoneType."""
    return type(value).__name__


def _item(section: str, index: int, raw: Any) -> dict[str, Any]:
    required, optional = SECTIONS[section]
    if section == "accounts" and isinstance(raw, str):
        raw = {"handle": raw}
    where = f"{section}[{index}]"
    if not isinstance(raw, Mapping):
        raise UsageError(f"{where} must be a mapping with keys {', '.join(required + optional)}")
    missing = [key for key in required if key not in raw]
    unknown = [key for key in raw if key not in required + optional]
    if missing or unknown:
        problems = [f"missing key(s) {', '.join(missing)}"] if missing else []
        problems += [f"unknown key(s) {', '.join(map(str, unknown))}"] if unknown else []
        valid = ", ".join(required + [f"{key} (optional)" for key in optional])
        raise UsageError(f"{where}: {' and '.join(problems)}; valid keys: {valid}")
    for key, value in raw.items():
        if key == "record":
            if not isinstance(value, Mapping):
                raise UsageError(
                    f"{where}.record must be a mapping (the record's fields), got {_kind(value)} {value!r}"
                )
        # Text, or a number YAML read from unquoted text; a list, a mapping or a YAML boolean (yes/no) is a mistake.
        elif isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise UsageError(
                f"{where}.{key} must be text, got {_kind(value)} {value!r} (quote it in YAML if it is text)"
            )
    return dict(raw)


def _accounts(world: World, item: dict[str, Any]) -> None:
    world.ensure_account(str(item["handle"]), item.get("pds"))


def _posts(world: World, item: dict[str, Any]) -> None:
    world.ensure_account(str(item["author"])).post(str(item["text"]))


def _follows(world: World, item: dict[str, Any]) -> None:
    world.ensure_account(str(item["follower"])).follow(world.ensure_account(str(item["subject"])))


def _likes(world: World, item: dict[str, Any]) -> None:
    world.ensure_account(str(item["by"])).like(world.account(str(item["post"])).latest(POST))


def _reposts(world: World, item: dict[str, Any]) -> None:
    world.ensure_account(str(item["by"])).repost(world.account(str(item["post"])).latest(POST))


def _records(world: World, item: dict[str, Any]) -> None:
    if not isinstance(item["record"], Mapping):
        raise UsageError(f"a record must be a mapping, got {item['record']!r}")
    world.ensure_account(str(item["author"])).create_record(str(item["collection"]), item["record"])


_APPLY: dict[str, Callable[[World, dict[str, Any]], None]] = {
    "accounts": _accounts,
    "posts": _posts,
    "follows": _follows,
    "likes": _likes,
    "reposts": _reposts,
    "records": _records,
}
