"""Steps that seed a network declaratively: tables of posts, or a whole network in YAML/JSON."""

from __future__ import annotations

from typing import Any

from behave import given

from ..world.seeding import apply_description
from .support import atproto_step, structured_docstring, table_rows, world_of


@given("the following posts:")
@atproto_step
def given_posts_table(context: Any) -> None:
    """Creates the posts of the table, in order; columns ``author`` and ``text``.

    Authors that do not exist yet are created on the network's only PDS.
    Placeholders work in every cell.
    """
    world = world_of(context)
    for row in table_rows(context, world, required=["author", "text"]):
        world.ensure_account(row["author"]).post(row["text"])


@given("the network described by:")
@atproto_step
def given_network_described_by(context: Any) -> None:
    """Creates PDSes, accounts, posts, follows, likes, reposts and records from a YAML or JSON docstring.

    Sections (all optional), applied in this order::

        pdses: [A, B]
        accounts:  [alice.test, {handle: bob.test, pds: B}]
        posts:     [{author: alice.test, text: Hello}]
        follows:   [{follower: bob.test, subject: alice.test}]
        likes:     [{by: bob.test, post: alice.test}]    # alice.test's latest post
        reposts:   [{by: bob.test, post: alice.test}]
        records:   [{author: alice.test, collection: com.example.project, record: {name: x}}]

    Accounts named but not listed are created on the only PDS. Placeholders in
    an item are resolved when that item is applied.
    """
    # Placeholders are resolved item by item as they are applied, not here.
    apply_description(world_of(context), structured_docstring(context, "the network as YAML or JSON"))
