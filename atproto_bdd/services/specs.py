"""What to start (specs) and what was started (service handles), runtime-independent."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec

from ..masking import masker


def new_k256_private_key_hex() -> str:
    """A fresh secp256k1 private key as 64 hex digits (the PDS's PLC rotation key format)."""
    value = ec.generate_private_key(ec.SECP256K1()).private_numbers().private_value
    return masker.register(value.to_bytes(32, "big").hex())


#: The domains a PDS gives its accounts' handles (``PDS_SERVICE_HANDLE_DOMAINS``): ``alice.test``.
SERVICE_HANDLE_DOMAINS = ".test"


@dataclass(frozen=True)
class PdsSpec:
    """A PDS to start. Secrets are random per instance and registered for masking.

    ``extra_env`` takes the PDS's own ``PDS_*`` environment variables, so any
    option the PDS documents can be set the same way on every runtime.
    """

    name: str
    admin_password: str = field(default_factory=masker.new_secret, repr=False)
    jwt_secret: str = field(default_factory=lambda: masker.new_secret(32), repr=False)
    plc_rotation_key_hex: str = field(default_factory=new_k256_private_key_hex, repr=False)
    rate_limits: bool = False
    rate_limit_bypass_key: str = field(default_factory=masker.new_secret, repr=False)
    smtp_url: str | None = None
    email_from: str = "noreply@pds.test"
    extra_env: Mapping[str, str] = field(default_factory=dict)

    @property
    def handle_domains(self) -> list[str]:
        """The domains this PDS gives handles on (``.test``; ``PDS_SERVICE_HANDLE_DOMAINS`` in ``extra_env``)."""
        domains = str(self.extra_env.get("PDS_SERVICE_HANDLE_DOMAINS", SERVICE_HANDLE_DOMAINS))
        return [domain.strip() for domain in domains.split(",") if domain.strip()]

    def environment(self, plc_url: str) -> dict[str, str]:
        """The ``PDS_*`` variables for this PDS (port, hostname and data paths are the runtime's)."""
        env = {
            "PDS_DEV_MODE": "true",
            "PDS_INVITE_REQUIRED": "false",
            "PDS_SERVICE_HANDLE_DOMAINS": SERVICE_HANDLE_DOMAINS,
            "PDS_DID_PLC_URL": plc_url,
            "PDS_ADMIN_PASSWORD": self.admin_password,
            "PDS_JWT_SECRET": self.jwt_secret,
            "PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX": self.plc_rotation_key_hex,
            # Tests must see DID changes (handle updates, new keys) at once.
            "PDS_DID_CACHE_STALE_TTL": "0",
            "PDS_RATE_LIMITS_ENABLED": "true" if self.rate_limits else "false",
        }
        if self.rate_limits:
            env["PDS_RATE_LIMIT_BYPASS_KEY"] = self.rate_limit_bypass_key
        if self.smtp_url:
            env["PDS_EMAIL_SMTP_URL"] = self.smtp_url
            env["PDS_EMAIL_FROM_ADDRESS"] = self.email_from
        env.update({key: str(value) for key, value in self.extra_env.items()})
        return env


@dataclass(frozen=True)
class PlcService:
    """A running PLC directory.

    ``url`` is how the test process reaches it; ``internal_url`` how the
    network's other services do (they differ when services run in containers).
    ``network`` names the runtime's network the directory anchors, if any.
    """

    id: str
    url: str
    internal_url: str = ""
    network: str = ""

    @property
    def service_url(self) -> str:
        """The URL the network's services use."""
        return self.internal_url or self.url


@dataclass(frozen=True)
class PdsService:
    """A running PDS and what a client needs to talk to it."""

    id: str
    spec: PdsSpec
    url: str
    port: int
    service_did: str
    plc_url: str
    log_path: Path | None = None

    @property
    def name(self) -> str:
        """The name the feature files use for this PDS."""
        return self.spec.name


@dataclass(frozen=True)
class RelaySpec:
    """A relay to start: the indigo relay, with a random admin password."""

    name: str = "relay"
    admin_password: str = field(default_factory=masker.new_secret, repr=False)


@dataclass(frozen=True)
class RelayService:
    """A running relay and the hosts (``localhost:PORT``) it crawls."""

    id: str
    spec: RelaySpec
    url: str
    plc_url: str
    hosts: tuple[str, ...]
    data_dir: Path
    ports: tuple[int, int]  # API, metrics
    log_path: Path | None = None
    pid: int | None = None

    @property
    def name(self) -> str:
        """The relay's name (``relay``)."""
        return self.spec.name


def hostname_of(url: str) -> str:
    """``localhost:1234`` from ``http://localhost:1234``: how a relay names a host."""
    return url.split("://", 1)[-1].rstrip("/")


@dataclass(frozen=True)
class AppViewSpec:
    """A Bluesky AppView to start: its name, and a random admin password and signing key (masked)."""

    name: str = "appview"
    admin_password: str = field(default_factory=masker.new_secret, repr=False)
    signing_key_hex: str = field(default_factory=new_k256_private_key_hex, repr=False)
    #: The moderation service whose admin calls (takedowns) it accepts: the network's Ozone, if any.
    mod_service_did: str = ""
    #: Labelers whose labels apply to a request that names none (``atproto-accept-labelers``): Ozone's DID.
    labelers: tuple[str, ...] = ()


@dataclass(frozen=True)
class AppViewService:
    """A running AppView: its URL, its did:plc (services ``#bsky_appview`` and ``#bsky_notif``), its database."""

    id: str
    spec: AppViewSpec
    url: str
    port: int
    did: str
    database: str
    log_path: Path | None = None

    @property
    def name(self) -> str:
        """The AppView's name (``appview``)."""
        return self.spec.name

    def pds_environment(self) -> dict[str, str]:
        """What a PDS of the network needs to proxy ``app.bsky.*`` to this AppView."""
        return {"PDS_BSKY_APP_VIEW_URL": self.url, "PDS_BSKY_APP_VIEW_DID": self.did}
