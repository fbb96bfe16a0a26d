"""The people of a scenario in a real browser: a page each, in a context of their own.

The world's browser (started by the first browser step, or by its
``add_service("browser")``) gives each person - named like an account, ``alice.test`` - a fresh browser
context (cookies and storage never shared between people or scenarios) with
one page. What a person does waits at most ``browser_timeout`` for the page:
a field or a button to appear, a text to show. The browser itself is the
run's (``services/browser.py``: launched once per run or worker); the end
of the scenario closes its people's contexts. With ``browser_trace`` each
person's context records a Playwright trace, written when it closes to
``<report_dir>/traces/<scenario>-<person>.zip``.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from ..errors import UsageError
from ..masking import masker
from ..waiting import Deadline, poll
from .needs import Configured

if TYPE_CHECKING:
    from ..services.browser import Browsers

#: How soon a wait looks at the page again, at first and at most (each look is a round trip or two to the
#: browser, a few milliseconds: a page that changes is noticed within a few milliseconds at first).
LOOK_INTERVAL = 0.005
LOOK_INTERVAL_MAX = 0.05
#: How long a page's network must be quiet (no request in flight) to count as settled: a page's own scripts
#: start their next request within milliseconds of the last (a single-page app finishing a sign-in: token,
#: session, first records), so a quarter second without one means it is done - half of Playwright's
#: "networkidle", which a person's checks would otherwise pay for every time.
QUIET = 0.25
#: Requests that stay open by design (live updates): they never make a page busy.
STREAMING = ("websocket", "eventsource")
#: How long one look at the page may take (a page in the middle of a navigation answers none).
LOOK_TIMEOUT_MS = 250
#: How long past its own deadline a person's action may block in Playwright before the browser is killed: a
#: call into a page whose navigation never commits (a server that never answers) waits for ever otherwise.
STUCK_GRACE = 5.0
#: Chromium's error for requests it aborted because the machine's network interfaces changed.
NETWORK_CHANGED = "ERR_NETWORK_CHANGED"
#: How the PDS's sign-in page labels the account's identifier: the 0.4 line, the 0.5 line.
IDENTIFIER_LABELS = ("Identifier", "Username or Email")
#: How many of the page's fields or buttons a failure lists.
LISTED = 12
#: Whether an element takes typed text (what Playwright's fill() accepts).
FILLABLE = "e => e.matches('input:not([type=hidden]), textarea, select, [contenteditable]')"
#: Whether an element is visible as Playwright judges it: a non-empty box, and not ``visibility: hidden``.
VISIBLE = (
    "e => !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length)"
    " && getComputedStyle(e).visibility !== 'hidden'"
)


class BrowserWorld(Configured, Protocol):
    """What :class:`Browser` uses of the world: its settings and the run's browser (if the run has one)."""

    @property
    def browsers(self) -> Browsers | None: ...

    @property
    def scenario(self) -> str:
        """The running scenario's name (traces are named after it)."""
        ...


class BrowserStepError(AssertionError):
    """A person could not do what a step says on the page, or did not see what it expects."""


class Person:
    """One person's page: open, fill, click, and what they see. Every call waits at most ``timeout`` seconds."""

    def __init__(
        self,
        name: str,
        context: Any,
        timeout: float,
        *,
        trace: Path | None = None,
        on_stuck: Callable[[], None] | None = None,
    ) -> None:
        self.name = name
        self.context = context
        self.timeout = timeout
        #: What ends a call into Playwright that blocks past its deadline (the run's browser is killed).
        self._on_stuck = on_stuck
        #: Where the person's Playwright trace is written when they close (None: no trace is recorded).
        self.trace = trace
        if trace is not None:
            context.tracing.start(screenshots=True, snapshots=True, sources=False, title=name)
        self.page = context.new_page()
        #: The browser console's errors and the requests that failed, for a failure's diagnostics.
        self.console_errors: list[str] = []
        self.failed_requests: list[str] = []
        #: The page's requests in flight (by id) and when the last one started or ended (see :meth:`settle`).
        self._in_flight: set[int] = set()
        self._last_traffic = time.monotonic()
        self.page.on("console", lambda message: self._console(message))
        self.page.on("pageerror", lambda error: self.console_errors.append(f"uncaught: {error}"))
        self.page.on("request", lambda request: self._traffic(request, started=True))
        self.page.on("requestfinished", lambda request: self._traffic(request, started=False))
        self.page.on("requestfailed", lambda request: self._request_failed(request))

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.console_errors.append(message.text)

    def _request_failed(self, request: Any) -> None:
        failure = request.failure or "failed"
        self.failed_requests.append(f"{request.method} {request.url}: {failure}")
        self._traffic(request, started=False)

    def _traffic(self, request: Any, *, started: bool) -> None:
        if request.resource_type in STREAMING:
            return
        if started:
            self._in_flight.add(id(request))
        else:
            self._in_flight.discard(id(request))
        self._last_traffic = time.monotonic()

    # -- what a person does ---------------------------------------------------------

    def open(self, url: str) -> None:
        """Go to ``url`` and wait until the page has loaded."""
        from playwright.sync_api import Error

        deadline = Deadline(self.timeout)
        last: list[str] = []

        def attempt() -> bool | None:
            try:
                self.page.goto(url, wait_until="load", timeout=max(deadline.remaining, 0.5) * 1000)
                return True
            except Error as exc:
                last[:] = [_first_line(exc)]
                if NETWORK_CHANGED in str(exc):  # aborted by Chromium (see _recover_from_network_change): again
                    return None
                raise BrowserStepError(f"{self.name} could not open {url}: {last[0]}") from None

        with self._bounded(f"open {url}"):
            poll(
                attempt,
                timeout=self.timeout,
                on_timeout=lambda: BrowserStepError(
                    f"{self.name} could not open {url}: {last[0] if last else 'timeout'}"
                ),
            )

    def _recover_from_network_change(self, seen: int) -> int:
        """Reload the page if requests failed with ``ERR_NETWORK_CHANGED`` since ``seen`` of them had; the count.

        Chromium aborts what it is loading when the machine's network interfaces
        change - a container engine adding or removing one - even for loopback
        addresses; a page whose scripts were cut off that way never renders.
        """
        changed = sum(NETWORK_CHANGED in line for line in self.failed_requests)
        if changed > seen:
            try:
                self.page.reload(wait_until="load", timeout=self.timeout * 1000)
            except Exception:  # judged by the next look
                pass
        return changed

    def fill(self, field: str, value: str) -> None:
        """Type ``value`` into the field labelled ``field`` (or with that placeholder, or that ``name``)."""
        locator = self._field(field)
        self._act(f'fill the field "{field}"', lambda: locator.fill(value, timeout=self.timeout * 1000))

    def _field(self, *names: str) -> Any:
        """The visible field labelled with one of ``names`` (or with that placeholder or ``name``), waiting for it."""
        shown = " or ".join(f'"{name}"' for name in names)
        return self._find(
            f"field {shown} (by label, placeholder or name)",
            lambda page: [
                locator
                for field in names
                for locator in (
                    page.get_by_role("textbox", name=field, exact=True),
                    page.get_by_label(field, exact=True),
                    page.get_by_placeholder(field, exact=True),
                    page.locator(f"[name={_css_string(field)}]"),
                    page.get_by_label(field),
                    page.get_by_placeholder(field),
                )
            ],
            self._fields,
            accept=FILLABLE,  # a label can name a fieldset too
        )

    def click(self, text: str) -> None:
        """Click the button or link whose text (or accessible name) is ``text``."""
        locator = self._find(
            f'button or link "{text}"',
            lambda page: [
                page.get_by_role("button", name=text, exact=True),
                page.get_by_role("link", name=text, exact=True),
                page.get_by_role("button", name=text),
                page.get_by_role("link", name=text),
                page.get_by_text(text, exact=True),
            ],
            self._buttons,
        )
        self._act(f'click "{text}"', lambda: locator.click(timeout=self.timeout * 1000))

    def _wait(self, check: Callable[[], Any], *, on_timeout: Callable[[], BaseException] | None) -> Any:
        """``check()`` until it returns something (not None/False), looking every few ms, at most ``timeout``.

        At the deadline ``on_timeout()`` is raised, or (``on_timeout=None``) None is returned.
        """
        with self._bounded("look at the page"):
            return poll(
                check,
                timeout=self.timeout,
                interval=LOOK_INTERVAL,
                max_interval=LOOK_INTERVAL_MAX,
                on_timeout=on_timeout,
            )

    @contextmanager
    def _bounded(self, what: str) -> Iterator[None]:
        """Run the block; if Playwright blocks in it past ``timeout`` + :data:`STUCK_GRACE`, kill the browser.

        Every call here has a deadline of its own, but a page whose navigation
        never commits (its server never answers) makes some of Playwright's
        calls wait for the next document for ever. Killing Chromium ends that
        call; the person's page is gone then, and the step fails saying why.
        """
        stuck = threading.Event()

        def fire() -> None:
            stuck.set()
            if self._on_stuck is not None:
                self._on_stuck()

        timer = threading.Timer(self.timeout + STUCK_GRACE, fire)
        timer.daemon = True
        timer.start()
        try:
            yield
        except Exception:
            if not stuck.is_set():
                raise
        finally:
            timer.cancel()
        if stuck.is_set():
            raise BrowserStepError(
                f"{self.name} could not {what}: the page did not answer within {self.timeout + STUCK_GRACE:g}s "
                f"(a navigation that never finished: its server never answered), so the browser was closed; "
                f"the page was {self.page.url}"
            ) from None

    def _act(self, what: str, action: Callable[[], Any]) -> None:
        """Do ``action`` on an element found; what Playwright refuses becomes one line naming the page."""
        from playwright.sync_api import Error

        with self._bounded(what):
            try:
                action()
            except Error as exc:
                raise BrowserStepError(f"{self.name} could not {what} on {self.where()}: {_first_line(exc)}") from None

    # -- what a person sees ---------------------------------------------------------

    def text(self) -> str:
        """The text the page shows now (its body's visible text)."""
        try:
            return str(self.page.locator("body").inner_text(timeout=1000))  # one look: the caller waits
        except Exception:  # navigating: no body yet
            return ""

    def expect_text(self, text: str) -> None:
        """Wait (``timeout``) until the page shows ``text``."""
        self._wait(
            lambda: text in self.text(),
            on_timeout=lambda: BrowserStepError(
                f'{self.name} does not see "{text}" within {self.timeout:g}s on {self.where()}; '
                f"the page shows:\n{_excerpt(self.text())}"
            ),
        )

    def expect_no_text(self, text: str) -> None:
        """Judge once the page has settled (:meth:`settle`: loaded, then no request in flight for ``QUIET``).

        A page that cannot be read (a navigation that does not finish) fails the
        check: not seeing what cannot be looked at proves nothing.
        """
        self.settle()
        with self._bounded(f'judge that the page does not show "{text}"'):
            try:
                shown = str(self.page.locator("body").inner_text(timeout=self.timeout * 1000))
            except Exception:
                raise BrowserStepError(
                    f'{self.name} cannot tell that the page does not show "{text}": it could not be read within '
                    f"{self.timeout:g}s (a navigation that does not finish?); the page is {self.where()}"
                ) from None
        if text in shown:
            raise BrowserStepError(f'{self.name} sees "{text}" on {self.where()}; the page shows:\n{_excerpt(shown)}')

    def settle(self, quiet: float = QUIET) -> None:
        """Wait until the page has loaded and no request has been in flight for ``quiet`` seconds.

        At most ``timeout``: a page that keeps polling is taken as it is then.
        Streams that stay open (websockets, server-sent events) do not count.
        """

        def settled() -> bool:
            try:  # a call into the page also delivers the request events that came in meanwhile
                self.page.wait_for_function("() => document.readyState === 'complete'", timeout=LOOK_TIMEOUT_MS)
            except Exception:  # navigating: the next document is not there yet (or not loaded)
                return False
            return not self._in_flight and time.monotonic() - self._last_traffic >= quiet

        self._wait(settled, on_timeout=None)

    def url(self) -> str:
        """The page's address now (the document's; a navigation that has not committed yet is not in it).

        ``page.url`` is only as new as the events Playwright has delivered, which
        it does inside calls into it: a 1 ms wait delivers them, and unlike a
        script in the page it cannot block on a document that never comes.
        """
        try:
            self.page.wait_for_timeout(1)
        except Exception:  # the page is gone
            return ""
        return str(self.page.url)

    def expect_at(self, url: str, what: str) -> None:
        """Wait (``timeout``) until the page's address starts with ``url`` (``what`` names it in the message)."""
        self._wait(
            lambda: self.url().startswith(url),
            on_timeout=lambda: BrowserStepError(
                f"{self.name} is not on {what} ({url}) within {self.timeout:g}s: the page is {self.where()}"
            ),
        )

    def _script_value(self, script: str) -> Any:
        """What ``script`` returns once it is truthy, or None (one look: the page may be navigating)."""
        try:
            return self.page.wait_for_function(script, timeout=LOOK_TIMEOUT_MS).json_value()
        except Exception:
            return None

    def where(self) -> str:
        """The page's address and title, for messages."""
        try:
            title = self.page.title()
        except Exception:
            title = ""
        return f'{self.page.url} (title "{title}")' if title else self.page.url

    # -- a PDS's own pages: OAuth sign-in and consent --------------------------------

    def authorization_request(self, pds_url: str) -> dict[str, Any]:
        """The authorization request the PDS's page is showing: its client, scope and login hint.

        The PDS (``@atproto/oauth-provider``) hands its page this request as
        ``window.__authorizeData``; the page itself words scopes for people.
        """
        self.expect_at(f"{pds_url}/oauth/authorize", "the PDS's authorization page")
        data: dict[str, Any] = self._wait(
            lambda: self._script_value("() => window.__authorizeData || null"),
            on_timeout=lambda: BrowserStepError(
                f"{self.name}'s page {self.where()} holds no authorization request (window.__authorizeData)"
            ),
        )
        return data

    def sign_in_on_pds(self, pds_url: str, identifier: str, password: str, *, approve: bool | None) -> None:
        """On the PDS's authorization page: sign in as ``identifier``, then approve or deny the app's request.

        ``approve=None`` only submits the sign-in form (a wrong password: what
        the page says is then checked with ``expect_text``). A PDS that asks for
        no consent (the app was approved before) goes straight back to the app.
        """
        self.expect_at(f"{pds_url}/oauth/authorize", "the PDS's authorization page")
        field = self._field(*IDENTIFIER_LABELS)
        # The app's login hint fills it in (read-only on the 0.4 line): typed only where the person still has to.
        if field.is_editable() and field.input_value() != identifier:
            self._act("fill in the identifier", lambda: field.fill(identifier, timeout=self.timeout * 1000))
        self.fill("Password", password)
        self.click("Sign in")
        if approve is None:
            return
        button = "Authorize" if approve else "Deny access"

        def consent_or_gone() -> str | None:
            if not self.url().startswith(pds_url):
                return "gone"
            return "consent" if self._visible(self.page.get_by_role("button", name=button, exact=True)) else None

        outcome = self._wait(
            consent_or_gone,
            on_timeout=lambda: BrowserStepError(
                f'{self.name} signed in on the PDS\'s page, which asked for no consent (no "{button}") and did not '
                f"go back to the app within {self.timeout:g}s; it is {self.where()} and shows:\n{_excerpt(self.text())}"
            ),
        )
        if outcome == "consent":
            self.click(button)
        elif not approve:
            raise BrowserStepError(
                f"{self.name} could not deny access: the PDS asked for no consent (it is {self.where()})"
            )

    def sign_in_to_app(
        self, app_url: str, form: Mapping[str, str], pds_url: str, identifier: str, password: str
    ) -> None:
        """The whole sign-in through an app: its form, the PDS's sign-in and consent, back on the app, settled.

        ``form`` is the app's ``[apps.NAME.sign_in]``: ``path``, ``field`` and
        ``button``. Settled (:meth:`settle`): a single-page app finishes the
        sign-in in the page after it is back.
        """
        self.open(app_url + form["path"])
        self.fill(form["field"], identifier)
        self.click(form["button"])
        self.sign_in_on_pds(pds_url, identifier, password, approve=True)
        self.expect_at(f"{app_url}/", f"the app at {app_url}")
        self.settle()

    # -- finding elements -------------------------------------------------------------

    @staticmethod
    def _visible(locator: Any) -> bool:
        """Whether ``locator`` has a visible element now (one short look: ``is_visible`` has no deadline)."""
        try:
            locator.first.wait_for(state="visible", timeout=LOOK_TIMEOUT_MS)
        except Exception:
            return False
        return True

    def _find(
        self,
        what: str,
        candidates: Callable[[Any], list[Any]],
        listing: Callable[[], str],
        accept: str = "e => true",
    ) -> Any:
        """The first visible element of ``candidates(page)`` that ``accept`` (JavaScript) takes, waiting for one."""
        found: list[Any] = []
        changed = [sum(NETWORK_CHANGED in line for line in self.failed_requests)]
        # One round trip per candidate: which of its elements are visible and taken.
        pick = f"elements => elements.map((e, i) => ({VISIBLE})(e) && ({accept})(e) ? i : -1).filter(i => i >= 0)"

        def look() -> bool:
            changed[0] = self._recover_from_network_change(changed[0])
            for locator in candidates(self.page):
                try:
                    hits = locator.evaluate_all(pick)
                except Exception:  # navigating: the document went away under the query
                    return False
                if hits:
                    found[:] = [locator.nth(hits[0])]
                    return True
            return False

        self._wait(
            look,
            on_timeout=lambda: BrowserStepError(
                f"{self.name} finds no {what} within {self.timeout:g}s on {self.where()}; {listing()}"
            ),
        )
        return found[0]

    def _fields(self) -> str:
        names = self.page.eval_on_selector_all(
            "input:not([type=hidden]), textarea, select",
            """elements => elements.map(e => (e.labels && e.labels[0] && e.labels[0].innerText.trim())
                || e.placeholder || e.name || e.id || e.type)""",
        )
        return _listed("its fields", names)

    def _buttons(self) -> str:
        names = self.page.eval_on_selector_all(
            "button, a, input[type=submit], input[type=button], [role=button]",
            "elements => elements.map(e => (e.innerText || e.value || e.getAttribute('aria-label') || '').trim())",
        )
        return _listed("its buttons and links", names)

    # -- diagnostics ------------------------------------------------------------------

    def describe(self) -> str:
        """What a failure shows of this page: its address and title, console errors, failed requests (masked)."""
        lines = [f"page: {self.where()}"]
        if self.trace is not None:
            lines.append(f"trace: {self.trace} (written when the scenario ends; trace.playwright.dev opens it)")
        lines += [f"console error: {line}" for line in self.console_errors[-20:]]
        lines += [f"request failed: {line}" for line in self.failed_requests[-20:]]
        return masker.mask("\n".join(lines))

    def screenshot(self) -> bytes | None:
        """The whole page as a PNG, or None if the browser cannot take one now."""
        try:
            return bytes(self.page.screenshot(full_page=True, timeout=5000))
        except Exception:
            return None

    def close(self) -> None:
        """Close the person's context (their page, cookies and storage), writing their trace first if recorded."""
        try:
            if self.trace is not None:
                self.trace.parent.mkdir(parents=True, exist_ok=True)
                self.context.tracing.stop(path=str(self.trace))
        except Exception:  # a trace that cannot be written must not keep the context open
            pass
        try:
            self.context.close()
        except Exception:  # the browser is gone already
            pass


class Browser:
    """The scenario's people in the run's browser: ``person(name)`` gives each a page of their own."""

    #: The registry's name for it (services/registry.py).
    NAME: ClassVar[str] = "browser"
    #: It offers no placeholders.
    PLACEHOLDERS: ClassVar[dict[str, Callable[[Browser], str]]] = {}

    def __init__(self, world: BrowserWorld) -> None:
        self._world = world
        self.timeout = world.settings.browser_timeout
        shared = world.browsers
        if shared is None:  # a world without a run (a script): a browser of its own, closed with it
            from ..services.browser import Browsers

            shared = Browsers(world.settings)
        self._own = world.browsers is None
        self._browsers = shared
        self.people: dict[str, Person] = {}
        #: Where people's traces go (``browser_trace``), or None.
        report_dir = world.settings.report_dir or "."
        self.trace_dir = Path(report_dir) / "traces" if world.settings.browser_trace else None

    @classmethod
    def start(cls, world: BrowserWorld, spec: Any = None) -> Browser:
        """The world's people in the run's browser (launched now if it does not run yet)."""
        if spec is not None:
            raise UsageError("the browser takes no spec; its settings are browser_executable, browser_timeout, ...")
        browser = cls(world)
        browser._browsers.get()
        return browser

    def person(self, name: str) -> Person:
        """``name``'s page (a new browser context the first time they are named in this world)."""
        if name not in self.people:
            context = self._browsers.get().new_context()
            self.people[name] = Person(
                name, context, self.timeout, trace=self._trace_path(name), on_stuck=self._browsers.kill
            )
        return self.people[name]

    def _trace_path(self, name: str) -> Path | None:
        """A new file in the trace directory for ``name`` in this scenario (None without ``browser_trace``)."""
        if self.trace_dir is None:
            return None
        stem = "-".join(_slug(part) for part in (self._world.scenario or "scenario", name))
        path, n = self.trace_dir / f"{stem}.zip", 1
        while path.exists():  # a scenario run again (an outline's rows, a rerun) keeps the earlier trace
            n += 1
            path = self.trace_dir / f"{stem}-{n}.zip"
        return path

    def traces(self) -> list[Path]:
        """The trace files this scenario's people record (written when they close)."""
        return [person.trace for person in self.people.values() if person.trace is not None]

    def recorded(self) -> None:
        """It records no events (diagnostics show its pages instead: :meth:`diagnostics`)."""
        return None

    def diagnostics(self) -> list[tuple[str, str]]:
        """A diagnostics section per person: their page's address, title, console errors and failed requests."""
        return [(f"browser: {name}'s page", person.describe()) for name, person in self.people.items()]

    def screenshots(self) -> list[tuple[str, bytes]]:
        """A screenshot (PNG) of each person's page that could be taken, with its caption."""
        shots = [(f"{name}'s page: {person.where()}", person.screenshot()) for name, person in self.people.items()]
        return [(caption, png) for caption, png in shots if png is not None]

    def close(self) -> None:
        """Close every person's context; the run's browser keeps running (a browser of its own closes)."""
        for person in self.people.values():
            person.close()
        self.people.clear()
        if self._own:
            self._browsers.close()


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.]+", "-", text).strip("-")[:80] or "x"


def _css_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _excerpt(text: str, limit: int = 800) -> str:
    text = text.strip() or "(nothing)"
    shown = text if len(text) <= limit else text[:limit] + " ..."
    return "\n".join(f"    {line}" for line in masker.mask(shown).splitlines())


def _listed(what: str, names: list[str]) -> str:
    names = [name for name in dict.fromkeys(str(n).strip() for n in names) if name]
    if not names:
        return f"the page has none of {what.removeprefix('its ')}"
    shown = ", ".join(f'"{name}"' for name in names[:LISTED])
    more = f" and {len(names) - LISTED} more" if len(names) > LISTED else ""
    return f"{what}: {shown}{more}"
