"""The PDS lines atproto-bdd runs: 0.4 (the self-hosting distribution's) and 0.5 (current on npm).

Each line is an npm project of its own in ``node/pds-<line>`` (package.json +
lockfile: the PDS and the PLC directory, pinned), installed into the cache
by lock hash, and needs a Node.js of at least ``min_node``. One line per
run: the ``pds_version`` setting (``-D pds_version=0.5``,
``ATPROTO_BDD_PDS_VERSION``).

The default is 0.4: it is what the official self-hosting distribution ships
(``ghcr.io/bluesky-social/pds:0.4``, on Node 20), so most independently
hosted PDSes a user's app meets run it, and it needs no Node.js download on
a machine with Node 20.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError
from ..settings import DEFAULT_PDS_VERSION, PDS_VERSIONS

NODE_DIR = Path(__file__).with_name("node")


@dataclass(frozen=True)
class PdsLine:
    """One PDS line: its npm project, the Node.js it needs, its official image (if there is one)."""

    version: str
    min_node: int
    official_image: str | None

    @property
    def project(self) -> Path:
        """The npm project (package.json + package-lock.json) pinning this line's PDS and PLC."""
        return NODE_DIR / f"pds-{self.version}"


PDS_LINES = {
    "0.4": PdsLine("0.4", min_node=18, official_image="ghcr.io/bluesky-social/pds:0.4"),
    # The self-hosting distribution publishes no 0.5 image: the Docker runtime needs pds_image for it.
    "0.5": PdsLine("0.5", min_node=22, official_image=None),
}
DEFAULT_PDS_LINE = DEFAULT_PDS_VERSION
assert tuple(PDS_LINES) == PDS_VERSIONS, "settings.PDS_VERSIONS lists the lines"


def pds_line(version: str) -> PdsLine:
    """The line called ``version`` (``0.4``, ``0.5``), or an error listing the supported ones."""
    try:
        return PDS_LINES[version]
    except KeyError:
        raise UsageError(
            f"pds_version {version!r} is not a supported PDS line; choose one of: {', '.join(PDS_LINES)}"
        ) from None
