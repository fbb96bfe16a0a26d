"""The Docker runtime: the official images, one user-defined network per test network.

Every test network gets its own engine network; services reach each other by
alias (``plc``, ``pds-a``, ``mailpit``) and the test process reaches them
through ports published on 127.0.0.1 only, so the engine must run on this
machine. A PDS listens inside its container on the same port it is published
on, with ``PDS_HOSTNAME=localhost``, so its public URL (``http://localhost:PORT``,
which its DID documents and OAuth issuer carry) is the same inside and outside
the engine.

Containers and networks carry labels with the run's id (and containers their
test network's name); a test network's containers are removed with it, and
everything of a run on close, at exit, and - for runs that crashed - by the
next run that starts on the same machine.

One module per job: :mod:`.engine`, :mod:`.cleanup`, :mod:`.images`,
:mod:`.plc`, :mod:`.pds`, :mod:`.relay`, :mod:`.mail`, composed in
:mod:`.runtime`. The Docker SDK is imported only when the runtime starts.
"""

from __future__ import annotations

from .images import OFFICIAL_IMAGES
from .pds import pds_alias
from .runtime import DockerRuntime

__all__ = ["OFFICIAL_IMAGES", "DockerRuntime", "pds_alias"]
