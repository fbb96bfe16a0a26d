"""Layer 3: the world - PDSes, accounts and records as a plain Python API."""

from __future__ import annotations

from .account import Account, Session
from .pds import Pds
from .records import RecordRef, StoredRecord
from .world import Attempt, World

__all__ = ["Account", "Attempt", "Pds", "RecordRef", "Session", "StoredRecord", "World"]
