"""The client-side view of the network's relay."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from ..protocol.firehose import FirehoseEvent
from ..protocol.http import basic_auth, new_client
from ..protocol.xrpc import Recorder, XrpcClient, request_json
from ..services.network import ws_url
from ..services.specs import RelayService
from ..waiting import poll
from .streams import FirehoseSource


class Relay(FirehoseSource):
    """The relay: its firehose, ``listHosts`` and admin API.

    The service behind it can change (the local runtime restarts the relay to
    crawl more PDSes); the URL and firehose stay the same.
    """

    #: The placeholders it offers: ``${relay.url}``, ``${relay.ws_url}`` (for firehose subscribers).
    PLACEHOLDERS: ClassVar[dict[str, Callable[[Relay], str]]] = {
        "url": lambda relay: relay.url,
        "ws_url": lambda relay: ws_url(relay.url),
    }

    def __init__(self, service: RelayService, *, timeout: float = 15.0, recorder: Recorder | None = None) -> None:
        self.service = service
        self.timeout = timeout
        self.client = XrpcClient(service.url, name="relay", timeout=timeout, recorder=recorder)
        self._admin = new_client(base_url=service.url, timeout=timeout)
        self.stream_name = "relay"

    @property
    def url(self) -> str:
        """The relay's URL, ``http://127.0.0.1:<port>``."""
        return self.service.url

    @property
    def admin_password(self) -> str:
        """The relay's random admin password."""
        return self.service.spec.admin_password

    def health(self) -> dict[str, Any]:
        """``GET /xrpc/_health``."""
        return self.client.query("_health")

    def list_hosts(self) -> list[dict[str, Any]]:
        """``com.atproto.sync.listHosts``, all pages: hosts the relay has received events from."""
        return list(self.client.paginate("com.atproto.sync.listHosts", items="hosts", limit=1000))

    def wait_for_host(self, hostname: str, timeout: float) -> list[dict[str, Any]]:
        """Poll listHosts until ``hostname`` is listed (the relay persists host state every few seconds).

        Returns the hosts listed last, whether or not ``hostname`` made it in time.
        """
        seen: list[dict[str, Any]] = []

        def listed() -> bool:
            seen[:] = self.list_hosts()
            return any(host.get("hostname") == hostname for host in seen)

        poll(listed, timeout=timeout, max_interval=0.25, on_timeout=None)
        return seen

    def host_seq(self, hostname: str) -> int:
        """The relay's cursor on a PDS (``getHostStatus``): the last event of it handled, -1 before any.

        The relay saves cursors every few seconds, so this trails the live stream.
        """
        status = self.client.query("com.atproto.sync.getHostStatus", {"hostname": hostname})
        seq = status.get("seq")
        return seq if isinstance(seq, int) else -1

    def consumers(self) -> list[dict[str, Any]]:
        """The relay's firehose subscribers (``/admin/consumers/list``): id, user agent, connection time."""
        return list(self.admin_get("/admin/consumers/list") or [])

    def admin_get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """GET an admin endpoint (``/admin/...``) with the admin password."""
        return self._admin_request("GET", path, params=params)

    def admin_post(self, path: str, body: Any = None) -> Any:
        """POST to an admin endpoint (``/admin/...``) with the admin password."""
        return self._admin_request("POST", path, json=body)

    def _admin_request(self, method: str, path: str, **kwargs: Any) -> Any:
        return request_json(self._admin, method, path, headers=basic_auth("admin", self.admin_password), **kwargs)

    def close(self) -> None:
        """Close connections and the firehose subscription."""
        self.close_firehose()
        self.client.close()
        self._admin.close()

    def recorded(self) -> tuple[str, list[FirehoseEvent]] | None:
        """What diagnostics show of it: the firehose events recorded (None if nothing subscribed)."""
        return ("relay firehose", self.recorded_events) if self.firehose_started else None
