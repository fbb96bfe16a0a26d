"""behave environment of this repository's acceptance suite (and of a user project).

Re-exporting atproto-bdd's hooks is all a project needs; to add your own,
define the hook and call ours from it, e.g.::

    from atproto_bdd import hooks

    def before_scenario(context, scenario):
        hooks.before_scenario(context, scenario)
        ...  # your set-up, with context.atproto ready
"""

from atproto_bdd.hooks import *  # noqa: F401,F403
