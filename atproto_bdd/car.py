"""Repository files in one import: ``from atproto_bdd.car import parse_car, Repo``.

A convenience view on :mod:`atproto_bdd.protocol.car` and
:mod:`atproto_bdd.protocol.repo`.
"""

from __future__ import annotations

from .protocol.car import Car, CarError, parse_car, write_car
from .protocol.repo import Commit, Repo, RepoError

__all__ = ["Car", "CarError", "Commit", "Repo", "RepoError", "parse_car", "write_car"]
