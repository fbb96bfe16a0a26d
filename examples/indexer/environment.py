from atproto_bdd.hooks import *  # noqa: F401,F403
