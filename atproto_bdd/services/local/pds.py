"""PLC directories and PDSes in the local runtime's host (started, restarted), snapshots, who hosts a handle."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ...errors import ServiceError
from ...protocol.lexicon_docs import LexiconDoc
from ...waiting import Deadline
from ..health import wait_until_healthy
from ..lexicons import LexiconValidator
from ..snapshots import NetworkSnapshot, PdsSnapshot
from ..specs import (
    PdsService,
    PdsSpec,
    PlcService,
)


class PdsMixin:
    """PLC directories and PDSes (started inside the host), restored from snapshots too."""

    def start_plc(self) -> PlcService:
        """Start an empty in-memory PLC directory inside the host."""
        return self._start_plc({})

    def _start_plc(self, args: dict[str, Any]) -> PlcService:
        result = self._call("plc.start", args, what="the PLC directory")
        self._log_paths[result["id"]] = Path(result["log"])
        # The host answers once the PLC listens; a health poll from here cost a new client and a round trip.
        return PlcService(id=result["id"], url=result["url"])

    def lexicon_validator(self, docs: Sequence[LexiconDoc]) -> LexiconValidator:
        """The host's validator with ``docs`` loaded (checked by @atproto/lexicon); the same one while they are."""
        key = tuple((doc.id, doc.source) for doc in docs)
        with self._lock:
            current = self._lexicons
        if current is not None and current[0] == key:
            return current[1]
        validator = LexiconValidator(self.host, docs, timeout=self.settings.service_timeout)
        validator.load()  # one set of project lexicons per host: the latest loaded
        with self._lock:
            self._lexicons = (key, validator)
        return validator

    def plc_down(self, plc: PlcService, seconds: float | None = None) -> None:
        """The directory closes its connections and stops listening (its operations stay in the host's memory).

        With ``seconds``, the host itself makes it listen again after them,
        on the same port; its log says when it went down and came back.
        """
        ms = round(seconds * 1000) if seconds is not None else 0
        self.host.call("plc.down", {"id": plc.id, "ms": ms}, timeout=self.settings.request_timeout)

    def plc_up(self, plc: PlcService) -> None:
        """The directory listens again on its port; returns once it answers (within ``service_timeout``)."""
        deadline = Deadline(self.settings.service_timeout)
        self.host.call("plc.up", {"id": plc.id}, timeout=deadline.remaining)
        wait_until_healthy("the PLC directory", f"{plc.url}/_health", timeout=max(deadline.remaining, 1.0))

    def start_pds(self, spec: PdsSpec, plc: PlcService) -> PdsService:
        """Start a PDS inside the host with its data in the run directory."""
        return self._start_pds(spec, plc, {})

    def _start_pds(self, spec: PdsSpec, plc: PlcService, more: dict[str, Any]) -> PdsService:
        host = self.host
        data_dir = host.run_dir / "data" / f"{spec.name}-{os.urandom(4).hex()}"
        # By name, not IP: the 0.5 line resolves DIDs with a fetch that refuses IP hosts ("Invalid hostname"), so
        # at http://127.0.0.1 it could resolve no DID (a report proxied to Ozone, a handle in describeRepo failed).
        plc_url = plc.service_url.replace("//127.0.0.1:", "//localhost:", 1)
        args = {"name": spec.name, "dataDir": str(data_dir), "env": spec.environment(plc_url), **more}
        args["fastPasswordHash"] = self.settings.fast_password_hash  # host/password_hash.js
        result = self._call("pds.start", args, what=f"PDS {spec.name}")
        log_path = Path(result["log"])
        self._log_paths[result["id"]] = log_path  # the host answered once PDS.create() was done and it listens
        with self._lock:
            self._pds_urls[result["id"]] = result["url"]
        return PdsService(
            id=result["id"],
            spec=spec,
            url=result["url"],
            port=int(result["port"]),
            service_did=result["did"],
            plc_url=plc.url,
            log_path=log_path,
        )

    def restart_pds(self, pds: PdsService) -> PdsService:
        """Stop ``pds`` and start it again on its data directory, port and secrets; wait until it serves again.

        The host closes its server, every connection (firehose subscribers too)
        and its databases, and starts it (``pds.start``) on the same data, port
        and ``PDS_*`` variables, under the same service id and log. Raises
        :class:`ServiceError` with the host's and the PDS's log tails if it does
        not serve again within ``service_timeout``.
        """
        deadline = Deadline(self.settings.service_timeout)
        try:
            result = self.host.call("pds.restart", {"id": pds.id}, timeout=deadline.remaining)
            if (result["id"], result["url"]) != (pds.id, pds.url):  # the host keeps both: a bug if not
                raise ServiceError(f"came back as {result['id']} on {result['url']}")
            wait_until_healthy(
                f"PDS {pds.name}", f"{pds.url}/xrpc/_health", timeout=max(deadline.remaining, 1.0), interval=0.01
            )
        except ServiceError as exc:
            with self._lock:
                self._pds_urls.pop(pds.id, None)  # the host no longer runs it
            raise ServiceError(
                f"PDS {pds.name} did not come back on {pds.url} after a restart: {exc}\n"
                f"its log ends with:\n{self.log_tail(pds.id) or '(empty)'}\n"
                f"the network host's log ends with:\n{self.host_log_tail()}"
            ) from None
        return pds  # the same service: id, URL, port, DID, spec (secrets) and log

    def pds_head(self, pds: PdsService) -> int | None:
        """The PDS's latest sequence number, from its sequencer in the host (one round trip, no subscription)."""
        return int(self.host.call("pds.head", {"id": pds.id}, timeout=self.settings.request_timeout)["seq"])

    def _live_pds_urls(self) -> list[str]:
        with self._lock:
            return list(self._pds_urls.values())

    # -- snapshots (services/snapshots.py) --------------------------------------------

    supports_snapshots = True

    def snapshot(self, plc: PlcService, pdses: Sequence[PdsService]) -> NetworkSnapshot:
        """Copy the PLC's operations (kept in the host) and each PDS's data directory (into the run directory)."""
        root = self.host.run_dir / "snapshots" / os.urandom(4).hex()
        copies = [PdsSnapshot(pds, root / pds.name) for pds in pdses]
        result = self.host.call(
            "snapshot.take",
            {"plc": plc.id, "pdses": [{"id": c.service.id, "dir": str(c.data_dir)} for c in copies]},
            timeout=self.settings.service_timeout,
        )
        return NetworkSnapshot(id=str(result["id"]), pdses=tuple(copies))

    def restore_plc(self, snapshot: NetworkSnapshot) -> PlcService:
        """A new in-memory PLC directory holding a copy of the snapshot's operations."""
        return self._start_plc({"snapshot": snapshot.id})

    def restore_pds(self, snapshot: PdsSnapshot, plc: PlcService) -> PdsService:
        """A new PDS on a copy of the snapshot's data directory, on its port, with its spec (and secrets).

        The PDSes of the scenario before stop in the background; they are
        waited for here, since one of them may still hold the port.
        """
        self.settle_stops()
        return self._start_pds(
            snapshot.service.spec, plc, {"port": snapshot.service.port, "copyFrom": str(snapshot.data_dir)}
        )

    def drop_snapshot(self, snapshot: NetworkSnapshot) -> None:
        """Forget the snapshot's PLC operations and remove its copied data directories."""
        if self._host is not None:
            self._host.call("snapshot.drop", {"id": snapshot.id}, timeout=self.settings.service_timeout)
