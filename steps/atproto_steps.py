"""Load atproto-bdd's step library: this one import is the glue a project needs."""

from atproto_bdd.steps import *  # noqa: F401,F403
