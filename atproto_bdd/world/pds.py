"""The client-side view of a running PDS."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ..errors import UsageError, XrpcError
from ..protocol.http import basic_auth
from ..protocol.identity import DidDocument, PlcClient
from ..protocol.oauth import OAuthClient
from ..protocol.xrpc import Recorder, XrpcClient
from ..services.email import Mailbox
from ..services.specs import PdsService
from .streams import FirehoseSource

if TYPE_CHECKING:
    from .account import Account


class Pds(FirehoseSource):
    """A PDS in the network: its URL, XRPC calls (anonymous or as admin) and accounts.

    ``xrpc_get``/``xrpc_post`` are anonymous calls; :class:`Account` has the
    authenticated ones. Calls the framework makes for its own set-up use
    :meth:`internal_headers`, which carry the rate-limit bypass key.
    """

    def __init__(
        self,
        service: PdsService,
        *,
        timeout: float = 15.0,
        recorder: Recorder | None = None,
        mail: Mailbox | None = None,
    ) -> None:
        self.service = service
        self.timeout = timeout
        self.mail = mail
        self.client = XrpcClient(service.url, name=f"PDS {service.name}", timeout=timeout, recorder=recorder)
        self.accounts: dict[str, Account] = {}
        self.stream_name = f"PDS {service.name}"

    @property
    def name(self) -> str:
        """The name feature files use (``A`` in "PDS A")."""
        return self.service.name

    @property
    def url(self) -> str:
        """The PDS's public URL, ``http://localhost:<port>``."""
        return self.service.url

    @property
    def did(self) -> str:
        """The PDS's service DID (``did:web:localhost%3A<port>``)."""
        return self.service.service_did

    @property
    def admin_password(self) -> str:
        """The random admin password of this PDS instance."""
        return self.service.spec.admin_password

    def internal_headers(self) -> dict[str, str]:
        """Headers for the framework's own calls: they never spend rate-limit budget."""
        if self.service.spec.rate_limits:
            return {"x-ratelimit-bypass": self.service.spec.rate_limit_bypass_key}
        return {}

    def admin_headers(self) -> dict[str, str]:
        """HTTP Basic credentials of the PDS admin."""
        return {**basic_auth("admin", self.admin_password), **self.internal_headers()}

    def xrpc_get(
        self, nsid: str, params: Mapping[str, Any] | None = None, *, headers: Mapping[str, str] | None = None
    ) -> Any:
        """Anonymous XRPC query; returns the decoded output or raises XrpcError."""
        return self.client.query(nsid, params, headers=headers)

    def xrpc_post(self, nsid: str, body: Any = None, *, headers: Mapping[str, str] | None = None, **kwargs: Any) -> Any:
        """Anonymous XRPC procedure; returns the decoded output or raises XrpcError."""
        return self.client.procedure(nsid, body, headers=headers, **kwargs)

    def admin_get(self, nsid: str, params: Mapping[str, Any] | None = None) -> Any:
        """XRPC query as the PDS admin."""
        return self.client.query(nsid, params, headers=self.admin_headers())

    def admin_post(self, nsid: str, body: Any = None, **kwargs: Any) -> Any:
        """XRPC procedure as the PDS admin."""
        return self.client.procedure(nsid, body, headers=self.admin_headers(), **kwargs)

    def require_mail(self) -> Mailbox:
        """The email capture this PDS sends to, or an error saying how to declare one."""
        if self.mail is None:
            raise UsageError(
                f"PDS {self.name} does not capture email; "
                f"declare it with: Given a PDS named {self.name} that captures email"
            )
        return self.mail

    def oauth_client(self, name: str = "") -> OAuthClient:
        """A new OAuth client (own DPoP key, loopback client id) of this PDS's authorization server."""
        return OAuthClient(
            self.url, timeout=self.timeout, recorder=self.client.recorder, name=name or f"OAuth {self.name}"
        )

    # -- moderation -------------------------------------------------------------

    def takedown(self, did: str, ref: str = "atproto-bdd") -> None:
        """Take an account down (``com.atproto.admin.updateSubjectStatus``)."""
        self._subject_status(did, {"applied": True, "ref": ref})

    def restore(self, did: str) -> None:
        """Reverse a takedown."""
        self._subject_status(did, {"applied": False})

    def subject_status(self, did: str) -> dict[str, Any]:
        """``com.atproto.admin.getSubjectStatus`` of an account."""
        return self.admin_get("com.atproto.admin.getSubjectStatus", {"did": did})

    def _subject_status(self, did: str, takedown: dict[str, Any]) -> None:
        subject = {"$type": "com.atproto.admin.defs#repoRef", "did": did}
        self.admin_post("com.atproto.admin.updateSubjectStatus", {"subject": subject, "takedown": takedown})

    # -- rate limits ------------------------------------------------------------------

    def exhaust_rate_limit(self, call: Callable[[], Any], *, max_calls: int = 10_000, concurrency: int = 8) -> int:
        """Repeat ``call`` (a request without the bypass key) until the PDS answers 429.

        Calls go out ``concurrency`` at a time (a sign-in takes the PDS 350 ms
        by design). Returns how many succeeded: the budget that was left.
        """
        succeeded = 0
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="atproto-bdd-exhaust") as pool:
            while succeeded < max_calls:
                outcomes = [pool.submit(call) for _ in range(concurrency)]
                limited = False
                for outcome in outcomes:
                    try:
                        outcome.result()
                        succeeded += 1
                    except XrpcError as error:
                        if error.status_code != 429:
                            raise
                        limited = True
                if limited:
                    return succeeded
        raise UsageError(f"PDS {self.name} accepted {max_calls} calls without rate limiting them")

    def describe(self) -> dict[str, Any]:
        """``com.atproto.server.describeServer``."""
        return self.xrpc_get("com.atproto.server.describeServer")

    @property
    def plc_url(self) -> str:
        """The PLC directory this PDS is configured with (``PDS_DID_PLC_URL``)."""
        return self.service.plc_url

    def resolve_did(self, did: str) -> DidDocument:
        """The DID document of ``did`` as this PDS's PLC directory serves it."""
        with PlcClient(self.plc_url, timeout=self.timeout) as plc:
            return plc.document(did)

    def resolve_handle(self, handle: str) -> str:
        """The DID this PDS resolves ``handle`` to."""
        return self.xrpc_get("com.atproto.identity.resolveHandle", {"handle": handle})["did"]

    @contextmanager
    def restarting(self) -> Iterator[None]:
        """Around a restart of the PDS (the block): its firehose recorder, if started, pauses and then goes on.

        The recorder is closed before the PDS drops its connection (so that is
        no failure) and, once the block has returned, subscribes again from its
        latest event, keeping what it recorded: the same recorder, so waits,
        windows and relay origins that hold it go on. HTTP clients need
        nothing: the URL is the same, and connections the PDS closed are
        opened again by the next call. If the block raises, the recorder stays
        closed (:attr:`firehose` would open a new one).
        """
        recorder = self._firehose
        if recorder is not None:
            recorder.close()
        yield
        if recorder is not None:
            recorder.resubscribe()

    def close(self) -> None:
        """Close the HTTP connections and the firehose subscription of this PDS."""
        self.close_firehose()
        self.client.close()

    def __repr__(self) -> str:
        return f"<Pds {self.name} {self.url}>"
