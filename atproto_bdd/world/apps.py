"""The apps under test a world uses, and the feeds and labelers they serve."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from .app import App
from .bots import Bot
from .feeds import Feed, publish
from .labels import Labeler


class AppsMixin:
    """Apps by name (declared in atproto-bdd.toml), their feeds and labelers."""

    @property
    def apps(self) -> Mapping[str, App]:
        """The apps this world has used, by name (read-only view)."""
        return MappingProxyType(self._apps)

    def app(self, name: str) -> App:
        """The declared app called ``name`` (not started: see :meth:`App.start`).

        An app whose ``scope`` is ``feature`` or ``run`` comes from
        :attr:`app_scopes` and keeps running after this world's scenario.
        """
        if name not in self._apps:
            spec = self.app_config.app(name)
            if spec.scope != "scenario" and self.app_scopes is not None:
                self._apps[name] = self.app_scopes.get(self, spec)
            else:
                self._apps[name] = App(self, spec)
        return self._apps[name]

    def app_with_did(self, did: str) -> App | None:
        """The app of this world whose DID is ``did``, if any (started apps only)."""
        for app in self._apps.values():
            if app.has_did and app.did == did:
                return app
        return None

    def app_acting_as(self, handle: str) -> App | None:
        """The app of this world that acts as the account ``handle`` (``account = "..."``), if one is in use."""
        for app in self._apps.values():
            if app.spec.account == handle.lower():
                return app
        return None

    def bot(self, handle: str) -> Bot:
        """The account ``handle`` as an app writes for it: its replies, likes and follows, waited for."""
        return Bot(self, self.account(handle))

    def _owns(self, app: App) -> bool:
        return app.spec.scope == "scenario" or self.app_scopes is None

    def end_scenario(self) -> None:
        """Stop the scenario's own apps (a network shared by a feature keeps running; so do longer-lived apps)."""
        for name, app in list(self._apps.items()):
            del self._apps[name]
            if self._owns(app):
                try:
                    app.close()
                except Exception:  # the next app must still stop
                    pass

    def feed(self, handle: str, rkey: str) -> Feed:
        """The feed ``rkey`` of the account ``handle`` (its ``app.bsky.feed.generator`` record)."""
        return Feed(self, self.account(handle), rkey)

    def publish_feed(self, handle: str, rkey: str, app: str, display_name: str = "") -> Feed:
        """Create ``handle``'s feed ``rkey`` served by the app ``app`` (its DID); the feed."""
        publish(self.account(handle), rkey, self.app(app).did, display_name)
        return self.feed(handle, rkey)

    def labeler(self, app: str) -> Labeler:
        """The labeler the app ``app`` runs."""
        return Labeler(self, self.app(app))
