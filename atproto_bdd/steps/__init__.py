"""Layer 4: the Gherkin step library.

Import it once from your project's ``steps/`` directory::

    from atproto_bdd.steps import *  # noqa: F401,F403

Importing registers the parameter types and every step with behave. The
step catalog (``docs/steps.md``) is generated from these modules.
"""

from __future__ import annotations

from . import (
    account_steps,
    app_steps,
    appview_steps,
    email_steps,
    eventual_steps,
    feed_steps,
    firehose_steps,
    identity_steps,
    jetstream_steps,
    label_steps,
    lifecycle_steps,
    oauth_steps,
    pds_steps,
    record_steps,
    relay_steps,
    request_steps,
    seeding_steps,
    sync_steps,
    tap_steps,
)

STEP_MODULES = (
    pds_steps,
    account_steps,
    lifecycle_steps,
    email_steps,
    oauth_steps,
    record_steps,
    seeding_steps,
    identity_steps,
    firehose_steps,
    sync_steps,
    relay_steps,
    jetstream_steps,
    tap_steps,
    request_steps,
    app_steps,
    feed_steps,
    label_steps,
    appview_steps,
    eventual_steps,
)

__all__: list[str] = []
