"""Repository files in one import: ``from atproto_bdd.car import parse_car, Repo``.

A convenience view on :mod:`atproto_bdd.protocol.car`,
:mod:`atproto_bdd.protocol.repo` and the errors of
:mod:`atproto_bdd.protocol.mst`.
"""

from __future__ import annotations

from .protocol.car import BlockError, Car, CarError, decode_block, parse_car, write_car
from .protocol.mst import MstError
from .protocol.repo import Commit, Repo, RepoError

__all__ = [
    "BlockError",
    "Car",
    "CarError",
    "Commit",
    "MstError",
    "Repo",
    "RepoError",
    "decode_block",
    "parse_car",
    "write_car",
]
