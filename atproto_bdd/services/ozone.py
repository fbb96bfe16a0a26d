"""Ozone, Bluesky's moderation service (``@atproto/ozone``), beside a network's AppView.

Ozone runs in the AppView's host (it needs the same Node.js 22 and
PostgreSQL; its package is in the AppView's npm project), on the network
AppView's database under schema ``ozone`` (migrated in the template, so a
start runs no migration). It is wired as dev-env wires it, and as production
is configured:

* its identity comes first (:func:`plan`): a did:plc with its label key as
  ``#atproto_label`` and service ``#atproto_labeler`` at its URL, made before
  the network's PDSes and AppView start, because they are configured with it
  (``PDS_MOD_SERVICE_*``/``PDS_REPORT_SERVICE_*``; the AppView's
  ``modServiceDid`` and default labelers);
* it starts after the network's first PDS (:meth:`~.appview.LocalAppViews.start_ozone`),
  which it pushes account takedowns to, as it pushes them to the AppView;
* its labels reach the AppView through the host's label bridge (see
  ``node/host/ozone.js``: the open-source AppView has no label ingester).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..masking import masker
from ..protocol.identity import PlcClient
from ..protocol.plc_ops import SigningKey, genesis_operation, update_operation
from ..protocol.service_auth import service_jwt
from ..protocol.xrpc import XrpcClient
from .ports import free_port
from .specs import PdsService, PlcService, new_k256_private_key_hex

#: The handle of Ozone's own account (dev-env's name), on the network's first PDS.
SERVICE_HANDLE = "mod-authority.test"
#: The label values Ozone's labeler declaration (``app.bsky.labeler.service``) says it uses.
LABEL_VALUES = ("!hide", "!warn", "porn", "sexual", "nudity", "graphic-media", "spam")


@dataclass(frozen=True)
class OzoneSpec:
    """An Ozone to start: its name, and a random admin password and label key (masked)."""

    name: str = "ozone"
    admin_password: str = field(default_factory=masker.new_secret, repr=False)
    signing_key_hex: str = field(default_factory=new_k256_private_key_hex, repr=False)
    #: The password of its service account (``mod-authority.test``).
    account_password: str = field(default_factory=masker.new_secret, repr=False)


@dataclass(frozen=True)
class OzoneIdentity:
    """Ozone's did:plc and URL, known before the services configured with it start."""

    spec: OzoneSpec
    did: str
    port: int
    #: The DID's genesis operation, which the service account's move to its PDS builds on.
    genesis: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @property
    def url(self) -> str:
        """Where Ozone listens (the ``#atproto_labeler`` endpoint of its DID document)."""
        return f"http://localhost:{self.port}"

    def pds_environment(self) -> dict[str, str]:
        """What a PDS needs to accept Ozone's takedowns and send it the reports its users make."""
        return {
            "PDS_MOD_SERVICE_URL": self.url,
            "PDS_MOD_SERVICE_DID": self.did,
            "PDS_REPORT_SERVICE_URL": self.url,
            "PDS_REPORT_SERVICE_DID": self.did,
        }


@dataclass(frozen=True)
class OzoneService:
    """A running Ozone: its identity, the PDS it pushes takedowns to, its log."""

    id: str
    identity: OzoneIdentity
    pds_url: str
    log_path: Path | None = None

    @property
    def spec(self) -> OzoneSpec:
        """What it was started with."""
        return self.identity.spec

    @property
    def url(self) -> str:
        """Ozone's URL."""
        return self.identity.url

    @property
    def did(self) -> str:
        """Ozone's did:plc (the ``src`` of its labels)."""
        return self.identity.did

    @property
    def name(self) -> str:
        """Its name (``ozone``)."""
        return self.spec.name


def plan(spec: OzoneSpec, plc: PlcService, *, timeout: float) -> OzoneIdentity:
    """Make Ozone's did:plc in ``plc`` on a port free now (it listens there when it starts).

    The DID document, as dev-env makes it: rotation key, ``#atproto`` and
    ``#atproto_label`` its label key, ``#atproto_labeler`` its URL. Its
    service account moves onto a PDS later (:func:`register_account`).
    """
    key = SigningKey.from_hex(spec.signing_key_hex)
    port = free_port()
    url = f"http://localhost:{port}"
    did, operation = genesis_operation(
        rotation_keys=[key.did_key],
        verification_methods={"atproto": key.did_key, "atproto_label": key.did_key},
        services={"atproto_labeler": {"type": "AtprotoLabeler", "endpoint": url}},
        signer=key,
    )
    with PlcClient(plc.url, timeout=timeout) as client:
        client.create(did, operation)
    return OzoneIdentity(spec, did, port, operation)


def register_account(identity: OzoneIdentity, pds: PdsService, plc: PlcService, *, timeout: float) -> None:
    """Give Ozone's DID its service account on ``pds``, with its labeler declaration, as a migration does.

    dev-env creates ``mod-authority.test`` on a PDS and moves it to the
    network's; here the DID exists first, so the account is created on the
    PDS for it (``createAccount`` with the DID and a service-auth token its
    ``#atproto`` key signs: deactivated), its DID document is pointed at the
    PDS (its signing key and endpoint, the PDS's recommended credentials,
    keeping ``#atproto_label`` and ``#atproto_labeler``), and it is
    activated. Its repository then holds a profile and
    ``app.bsky.labeler.service/self``, which the AppView indexes
    (``app.bsky.labeler.getServices``).
    """
    spec = identity.spec
    key = SigningKey.from_hex(spec.signing_key_hex)
    client = XrpcClient(pds.url, name=f"PDS {pds.name}", timeout=timeout)
    try:
        token = masker.register(
            service_jwt(key, iss=identity.did, aud=pds.service_did, lxm="com.atproto.server.createAccount")
        )
        session = client.procedure(
            "com.atproto.server.createAccount",
            {
                "did": identity.did,
                "handle": SERVICE_HANDLE,
                "email": "mod-authority@ozone.test",
                "password": spec.account_password,
            },
            headers={"authorization": f"Bearer {token}"},
        )
        auth = {"authorization": f"Bearer {masker.register(session['accessJwt'])}"}
        recommended = client.query("com.atproto.identity.getRecommendedDidCredentials", headers=auth)
        operation = update_operation(
            identity.genesis,
            rotation_keys=[key.did_key, *recommended.get("rotationKeys", [])],
            verification_methods={**recommended["verificationMethods"], "atproto_label": key.did_key},
            services={
                **recommended["services"],
                "atproto_labeler": {"type": "AtprotoLabeler", "endpoint": identity.url},
            },
            also_known_as=recommended.get("alsoKnownAs", [f"at://{SERVICE_HANDLE}"]),
            signer=key,
        )
        with PlcClient(plc.url, timeout=timeout) as plc_client:
            plc_client.create(identity.did, operation)  # an update goes to the same endpoint
        client.procedure("com.atproto.server.activateAccount", headers=auth)
        now = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        records = {
            "app.bsky.actor.profile": {"$type": "app.bsky.actor.profile", "displayName": "Ozone (moderation)"},
            "app.bsky.labeler.service": {
                "$type": "app.bsky.labeler.service",
                "policies": {"labelValues": list(LABEL_VALUES)},
                "createdAt": now,
            },
        }
        for collection, record in records.items():
            client.procedure(
                "com.atproto.repo.putRecord",
                {"repo": identity.did, "collection": collection, "rkey": "self", "record": record},
                headers=auth,
            )
    finally:
        client.close()


def launch(runtime: Any, spec: OzoneSpec, network: Any) -> OzoneService:
    """Start the network's Ozone (the registry's launcher): after its first PDS, with its AppView."""
    identity = network.ozone_identity
    if identity is None or network.appview is None:
        raise UsageError(
            "Ozone must be declared before the network's PDSes and AppView, which are configured with it: the "
            "hooks do that for a scenario with `Given Ozone moderated by ...` anywhere (or tagged @ozone); code "
            "that starts it itself calls network.plan_ozone() before the first PDS "
            '(a custom step: mark it @uses("ozone"))'
        )
    if not network.pdses:
        raise UsageError("Ozone pushes takedowns to the network's PDS: start one first (Given a PDS named A)")
    pds = next(iter(network.pdses.values()))
    register_account(identity, pds, network.plc, timeout=runtime.settings.request_timeout)
    return runtime.appviews.start_ozone(identity, network.plc, network.appview, pds)
