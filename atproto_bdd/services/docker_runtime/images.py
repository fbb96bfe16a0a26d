"""Which image each service runs, and making sure the engine has it."""

from __future__ import annotations

from ...errors import ServiceError, UsageError
from ..go_install import INDIGO_COMMIT
from ..pds_lines import PDS_LINES, pds_line
from .engine import EngineMixin

#: The images the Docker runtime runs unless overridden (setting or ATPROTO_BDD_<SERVICE>_IMAGE);
#: the PDS's follows the PDS line (``pds_version``).
OFFICIAL_IMAGES = {
    "pds": PDS_LINES["0.4"].official_image or "",
    "plc": "ghcr.io/bluesky-social/did-method-plc:plc-c54aea0373e65df0b87f5bc81710007092f539b1",
    "relay": f"ghcr.io/bluesky-social/indigo:relay-{INDIGO_COMMIT}",
    "mailpit": "axllent/mailpit:v1.33.1",
    "postgres": "postgres:16-alpine",
}


class ImagesMixin(EngineMixin):
    """Image names (setting, else official) and pulling an image the engine lacks."""

    def image(self, service: str) -> str:
        """The image for ``service`` (pds, plc, relay, mailpit, postgres): the setting, else the official one.

        The PDS's official image is the one of the run's PDS line; a line
        without one (0.5) needs the ``pds_image`` setting.
        """
        chosen = getattr(self.settings, f"{service}_image")
        if chosen or service != "pds":
            return chosen or OFFICIAL_IMAGES[service]
        line = pds_line(self.settings.pds_version)
        if line.official_image is None:
            raise UsageError(
                f"there is no official PDS image of the {line.version} line (the self-hosting distribution, "
                "ghcr.io/bluesky-social/pds, ships 0.4): build one - docker/local_images.py builds it from the pinned "
                f"packages - and name it with -D pds_image=... (ATPROTO_BDD_PDS_IMAGE), or run -D pds_version=0.4"
            )
        return line.official_image

    def _ensure_image(self, service: str) -> str:
        """The image of ``service``, pulled first if the engine does not have it."""
        return self._ensure_named_image(self.image(service), service)

    def _ensure_named_image(self, name: str, service: str) -> str:
        """The image ``name`` (for ``service``), pulled first if the engine does not have it."""
        from docker.errors import DockerException, ImageNotFound

        try:
            self.client.images.get(name)
        except ImageNotFound:
            try:
                self.client.images.pull(name)
            except DockerException as exc:
                hint = (
                    f"point ATPROTO_BDD_{service.upper()}_IMAGE (-D {service}_image=...) at one you have"
                    if service in OFFICIAL_IMAGES
                    else "or change its image in the config"
                )
                raise ServiceError(
                    f"the {service} image {name} is not available and could not be pulled ({exc}); "
                    f"build or pull it, {hint}"
                ) from None
        return name
