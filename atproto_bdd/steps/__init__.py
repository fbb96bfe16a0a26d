"""Layer 4: the Gherkin step library.

Import it once from your project's ``steps/`` directory::

    from atproto_bdd.steps import *  # noqa: F401,F403

Importing registers the parameter types and every step with behave. The
step catalog (``docs/steps.md``) is generated from these modules.
"""

from __future__ import annotations

import importlib
import pkgutil

#: The order of the step catalog's sections (``docs/steps.md``). Every ``*_steps`` module of this package
#: is imported, listed here or not: one added later needs no line here (it comes after these, by name).
CATALOG_ORDER = (
    "pds_steps",
    "account_steps",
    "lifecycle_steps",
    "email_steps",
    "oauth_steps",
    "record_steps",
    "lexicon_steps",
    "seeding_steps",
    "identity_steps",
    "firehose_steps",
    "sync_steps",
    "relay_steps",
    "jetstream_steps",
    "tap_steps",
    "request_steps",
    "app_steps",
    "browser_steps",
    "bot_steps",
    "feed_steps",
    "label_steps",
    "appview_steps",
    "eventual_steps",
)


def _step_module_names() -> list[str]:
    found = {info.name for info in pkgutil.iter_modules(__path__) if info.name.endswith("_steps")}
    return [name for name in CATALOG_ORDER if name in found] + sorted(found.difference(CATALOG_ORDER))


#: Every step module, in the catalog's order (importing one registers its steps with behave).
STEP_MODULES = tuple(importlib.import_module(f"{__name__}.{name}") for name in _step_module_names())

__all__: list[str] = []
