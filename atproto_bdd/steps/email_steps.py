"""Steps for the emails a PDS sends: confirmation and password reset, with the real emailed tokens.

They need a PDS that captures email (``Given a PDS named A that captures
email``); the framework reads the token from the email the PDS sent.
"""

from __future__ import annotations

from typing import Any

from behave import then, when

from .support import atproto_step, world_of


@when("{handle:Handle} requests email confirmation")
@atproto_step
def when_requests_email_confirmation(context: Any, handle: str) -> None:
    """Asks HANDLE's PDS to email a confirmation token (``com.atproto.server.requestEmailConfirmation``)."""
    world_of(context).account(handle).request_email_confirmation()


@then("{handle:Handle} receives an email")
@atproto_step
def then_receives_email(context: Any, handle: str) -> None:
    """Waits (``service_timeout``) for an email to HANDLE's address after their latest request."""
    world = world_of(context)
    world.account(handle).next_mail(world.settings.service_timeout)


@then('{handle:Handle} receives an email with subject "{subject}"')
@atproto_step
def then_receives_email_with_subject(context: Any, handle: str, subject: str) -> None:
    """Waits for an email to HANDLE after their latest request and checks its subject."""
    world = world_of(context)
    mail = world.account(handle).next_mail(world.settings.service_timeout)
    assert mail.subject == subject, f"the email's subject is {mail.subject!r}, expected {subject!r}"


@when("{handle:Handle} confirms their email with the emailed token")
@atproto_step
def when_confirms_email(context: Any, handle: str) -> None:
    """Reads the token from the confirmation email and confirms (``com.atproto.server.confirmEmail``)."""
    world = world_of(context)
    account = world.account(handle)
    account.confirm_email(account.emailed_token("confirm", world.settings.service_timeout))


@when('{handle:Handle} tries to confirm their email with the token "{token}"')
@atproto_step
def when_tries_to_confirm_email(context: Any, handle: str, token: str) -> None:
    """Confirms with TOKEN; the PDS's answer is kept for "Then the request ..."."""
    world = world_of(context)
    account = world.account(handle)
    world.attempt(f"{handle} confirms their email", lambda: account.confirm_email(token))


@then("{handle:Handle}'s email is confirmed")
@atproto_step
def then_email_confirmed(context: Any, handle: str) -> None:
    """Checks ``emailConfirmed`` in HANDLE's session (``com.atproto.server.getSession``)."""
    assert world_of(context).account(handle).email_confirmed(), f"{handle}'s email is not confirmed"


@then("{handle:Handle}'s email is not confirmed")
@atproto_step
def then_email_not_confirmed(context: Any, handle: str) -> None:
    """Checks HANDLE's session reports the email as not confirmed."""
    assert not world_of(context).account(handle).email_confirmed(), f"{handle}'s email is confirmed"


@when("{handle:Handle} requests a password reset")
@atproto_step
def when_requests_password_reset(context: Any, handle: str) -> None:
    """Asks HANDLE's PDS to email a reset token (``com.atproto.server.requestPasswordReset``, anonymous)."""
    world_of(context).account(handle).request_password_reset()


@when('{handle:Handle} resets their password to "{password}" with the emailed token')
@atproto_step
def when_resets_password(context: Any, handle: str, password: str) -> None:
    """Reads the token from the reset email and sets PASSWORD (``com.atproto.server.resetPassword``)."""
    world = world_of(context)
    account = world.account(handle)
    account.reset_password(account.emailed_token("reset", world.settings.service_timeout), password)


@when('{handle:Handle} tries to reset their password to "{password}" with the emailed token')
@atproto_step
def when_tries_to_reset_password(context: Any, handle: str, password: str) -> None:
    """Like "resets their password", but keeps the PDS's refusal (e.g. a reused token) for "Then the request ..."."""
    world = world_of(context)
    account = world.account(handle)
    token = account.emailed_token("reset", world.settings.service_timeout)
    world.attempt(f"{handle} resets their password", lambda: account.reset_password(token, password))
