"""Snapshots of a network's services: a PLC directory and its PDSes, copied once and restored many times.

A Background that only declares PDSes and accounts leaves the same state
before every scenario of its feature. The hooks run it once, take a
snapshot (the PLC's operations, each PDS's data directory) and give every
later scenario a copy of that state in fresh services: the template-database
idea applied to the network. A restored PDS listens on the port the snapshot's
PDS had, because the DID documents in the PLC name that URL, with the same
secrets (the sessions in its database are signed with them).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .specs import PdsService


@dataclass(frozen=True)
class PdsSnapshot:
    """One PDS of a snapshot: the service as it ran (spec with its secrets, port, DID) and its copied data."""

    service: PdsService
    data_dir: Path


@dataclass(frozen=True)
class NetworkSnapshot:
    """A snapshot of a PLC directory and its PDSes; ``id`` is the runtime's handle on it."""

    id: str
    pdses: tuple[PdsSnapshot, ...]
