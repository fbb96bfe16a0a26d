"""The people of a scenario in a real browser: a page each, in a context of their own.

``world.browser`` (started by the first browser step, or ``world.add_service("browser")``)
gives each person - named like an account, ``alice.test`` - a fresh browser
context (cookies and storage never shared between people or scenarios) with
one page. What a person does waits at most ``browser_timeout`` for the page:
a field or a button to appear, a text to show. The browser itself is the
run's (``services/browser.py``: launched once per run or worker); closing the
world closes its people's contexts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from ..errors import UsageError
from ..masking import masker
from ..waiting import poll
from .needs import Configured

if TYPE_CHECKING:
    from ..services.browser import Browsers

#: How often a wait looks at the page again (each look is one round trip to the browser).
LOOK_INTERVAL = 0.05
#: How many of the page's fields or buttons a failure lists.
LISTED = 12


class BrowserWorld(Configured, Protocol):
    """What :class:`Browser` uses of the world: its settings and the run's browser (if the run has one)."""

    @property
    def browsers(self) -> Browsers | None: ...


class BrowserStepError(AssertionError):
    """A person could not do what a step says on the page, or did not see what it expects."""


class Person:
    """One person's page: open, fill, click, and what they see. Every call waits at most ``timeout`` seconds."""

    def __init__(self, name: str, context: Any, timeout: float) -> None:
        self.name = name
        self.context = context
        self.timeout = timeout
        self.page = context.new_page()
        #: The browser console's errors and the requests that failed, for a failure's diagnostics.
        self.console_errors: list[str] = []
        self.failed_requests: list[str] = []
        self.page.on("console", lambda message: self._console(message))
        self.page.on("pageerror", lambda error: self.console_errors.append(f"uncaught: {error}"))
        self.page.on("requestfailed", lambda request: self._request_failed(request))

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.console_errors.append(message.text)

    def _request_failed(self, request: Any) -> None:
        failure = request.failure or "failed"
        self.failed_requests.append(f"{request.method} {request.url}: {failure}")

    # -- what a person does ---------------------------------------------------------

    def open(self, url: str) -> None:
        """Go to ``url`` and wait until the page has loaded."""
        from playwright.sync_api import Error

        try:
            self.page.goto(url, wait_until="load", timeout=self.timeout * 1000)
        except Error as exc:
            raise BrowserStepError(f"{self.name} could not open {url}: {_first_line(exc)}") from None

    def fill(self, field: str, value: str) -> None:
        """Type ``value`` into the field labelled ``field`` (or with that placeholder, or that ``name``)."""
        locator = self._find(
            f'field "{field}" (by label, placeholder or name)',
            lambda page: [
                page.get_by_label(field, exact=True),
                page.get_by_placeholder(field, exact=True),
                page.locator(f"[name={_css_string(field)}]"),
                page.get_by_label(field),
                page.get_by_placeholder(field),
            ],
            self._fields,
        )
        locator.fill(value, timeout=self.timeout * 1000)

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
        locator.click(timeout=self.timeout * 1000)

    # -- what a person sees ---------------------------------------------------------

    def text(self) -> str:
        """The text the page shows now (its body's visible text)."""
        try:
            return str(self.page.locator("body").inner_text(timeout=1000))  # one look: the caller waits
        except Exception:  # navigating: no body yet
            return ""

    def expect_text(self, text: str) -> None:
        """Wait (``timeout``) until the page shows ``text``."""
        poll(
            lambda: text in self.text(),
            timeout=self.timeout,
            interval=LOOK_INTERVAL,
            on_timeout=lambda: BrowserStepError(
                f'{self.name} does not see "{text}" within {self.timeout:g}s on {self.where()}; '
                f"the page shows:\n{_excerpt(self.text())}"
            ),
        )

    def expect_no_text(self, text: str) -> None:
        """Judge once the page has settled (loaded, then no network traffic for 500 ms, at most ``timeout``)."""
        self.settle()
        shown = self.text()
        if text in shown:
            raise BrowserStepError(f'{self.name} sees "{text}" on {self.where()}; the page shows:\n{_excerpt(shown)}')

    def settle(self) -> None:
        """Wait until the page has loaded and its network is idle (at most ``timeout``; a busy page is judged as is)."""
        from playwright.sync_api import Error

        try:
            self.page.wait_for_load_state("networkidle", timeout=self.timeout * 1000)
        except Error:  # long polls and websockets never idle: judge the page as it is
            pass

    def expect_at(self, url: str, what: str) -> None:
        """Wait (``timeout``) until the page's address starts with ``url`` (``what`` names it in the message)."""
        poll(
            lambda: self.page.url.startswith(url),
            timeout=self.timeout,
            interval=LOOK_INTERVAL,
            on_timeout=lambda: BrowserStepError(
                f"{self.name} is not on {what} ({url}) within {self.timeout:g}s: the page is {self.where()}"
            ),
        )

    def where(self) -> str:
        """The page's address and title, for messages."""
        try:
            title = self.page.title()
        except Exception:
            title = ""
        return f'{self.page.url} (title "{title}")' if title else self.page.url

    # -- finding elements -------------------------------------------------------------

    def _find(self, what: str, candidates: Callable[[Any], list[Any]], listing: Callable[[], str]) -> Any:
        """The first visible element of ``candidates(page)``, waiting ``timeout`` for one to appear."""
        found: list[Any] = []

        def look() -> bool:
            for locator in candidates(self.page):
                visible = [item for item in locator.all() if item.is_visible()]
                if visible:
                    found[:] = visible[:1]
                    return True
            return False

        poll(
            look,
            timeout=self.timeout,
            interval=LOOK_INTERVAL,
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
        """Close the person's context (their page, cookies and storage)."""
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
            self.people[name] = Person(name, context, self.timeout)
        return self.people[name]

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
