"""Layer 3: the world - PDSes, accounts and records as a plain Python API."""

from __future__ import annotations

from .account import Account
from .blobs import Blob
from .pds import Pds
from .records import RecordRef, StoredRecord
from .relay import Relay
from .session import Session
from .world import Attempt, World, XrpcCall

__all__ = ["Account", "Attempt", "Blob", "Pds", "RecordRef", "Relay", "Session", "StoredRecord", "World", "XrpcCall"]
