"""End-to-end fixtures: the test ``app`` served over real HTTP, a headless Chromium, and
phone-sized pages (360×740, zh-CN, Asia/Shanghai) that fail the test on a JavaScript error.

Screenshots go to ``test-artifacts/`` (git-ignored): one per open page when a test fails,
and the ones a test asks for with :func:`snap`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    expect,
    sync_playwright,
)
from werkzeug.serving import make_server

from tests.e2e.steps import PHONE, log_in, ready_offline, snap
from tests.helpers import SCREENING

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # A name for the test server that is not loopback: a plain-http address on the
    # network, as phones see a server without HTTPS.
    "--host-resolver-rules=MAP lan.test 127.0.0.1",
]

expect.set_options(timeout=10_000)

# Every page reports what the Content-Security-Policy blocked as a console error that
# starts with CSP_REFUSAL (its securitypolicyviolation event); Chromium also logs its own
# line ("Refused to …", "Applying inline style violates … Content Security Policy …").
CSP_REFUSAL = "CSP violation:"
REPORT_CSP_VIOLATIONS = """
document.addEventListener('securitypolicyviolation', (e) => console.error(
  'CSP violation: ' + e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline')
  + ' at ' + e.sourceFile + ':' + e.lineNumber));
"""


def is_csp_violation(text: str) -> bool:
    """Whether a console message tells that the Content-Security-Policy blocked something."""
    return (
        text.startswith(CSP_REFUSAL)
        or text.startswith("Refused to")
        or "Content Security Policy" in text
    )


def watch_csp(context: BrowserContext, seen: list[str]) -> None:
    """Collect into ``seen`` every CSP violation on the context's pages."""
    context.add_init_script(REPORT_CSP_VIOLATIONS)

    def on_console(msg) -> None:
        if is_csp_violation(msg.text):
            seen.append(f"{msg.page.url if msg.page else '(worker)'}: {msg.text}")

    context.on("console", on_console)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the item, so fixtures can tell whether the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def live_server(app) -> Iterator[str]:
    """The session's ``app`` on 127.0.0.1 at a free port; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    """The Playwright driver for the whole session."""
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright) -> Iterator[Browser]:
    """One headless Chromium (the Debian build) for the whole session."""
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    try:
        yield chromium
    finally:
        chromium.close()


@pytest.fixture
def phone_profile(playwright, tmp_path) -> Callable[..., BrowserContext]:
    """Factory: the browser of one phone, with a profile on disk (IndexedDB, service
    worker, cookies) that survives closing the browser and opening it again."""
    opened: list[BrowserContext] = []
    refused: list[str] = []

    def _open(base_url: str) -> BrowserContext:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "phone-profile"),
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            base_url=base_url,
            viewport=PHONE,
            locale="zh-CN",
            timezone_id="Asia/Shanghai",
            geolocation={"latitude": 30.2741, "longitude": 120.1551, "accuracy": 12},
            permissions=["geolocation"],
        )
        context.set_default_timeout(15_000)
        watch_csp(context, refused)
        opened.append(context)
        return context

    yield _open
    for context in opened:
        try:
            context.close()
        except Exception:  # already closed by the test
            pass
    if refused:
        pytest.fail("The Content-Security-Policy blocked:\n" + "\n".join(refused))


@dataclass
class Watched:
    """A page with the JavaScript errors and console errors seen on it."""

    page: Page
    name: str
    page_errors: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


@pytest.fixture
def open_page(browser, live_server, request) -> Iterator[Callable[..., Page]]:
    """Factory: a fresh browser context + page (own cookies), relative URLs allowed.

    Every page is watched: an uncaught JavaScript error (``pageerror``) or anything the
    Content-Security-Policy blocks fails the test; console errors are collected and
    printed. On failure each page is screenshotted.
    """
    watched: list[Watched] = []
    refused: list[str] = []

    def _open(viewport: dict = PHONE, name: str = "phone") -> Page:
        context = browser.new_context(
            base_url=live_server,
            viewport=viewport,
            locale="zh-CN",
            timezone_id="Asia/Shanghai",
            accept_downloads=True,
        )
        context.set_default_timeout(10_000)
        watch_csp(context, refused)
        page = context.new_page()
        w = Watched(page, name)
        page.on("pageerror", lambda exc: w.page_errors.append(f"{page.url}: {exc}"))
        page.on(
            "console",
            lambda msg: (
                msg.type == "error"
                and w.console_errors.append(f"{page.url}: {msg.text} ({msg.location.get('url')})")
            ),
        )
        # A person answers "leave this page?" and "remove this item?" with OK; the tests
        # see which dialogs came up in ``Watched.dialogs``.
        page.on("dialog", lambda d: (w.dialogs.append(f"{d.type}: {d.message}"), d.accept()))
        watched.append(w)
        return page

    yield _open

    report = getattr(request.node, "rep_call", None)
    failed = report is None or report.failed or bool(refused) or any(w.page_errors for w in watched)
    for i, w in enumerate(watched):
        if failed and not w.page.is_closed():
            try:
                snap(w.page, f"FAILED-{request.node.name}-{i}-{w.name}")
            except Exception as exc:  # a screenshot must not hide the real failure
                print(f"screenshot of {w.name} failed: {exc}")
        for line in w.console_errors:
            print(f"[console error on {w.name}] {line}")
        w.page.context.close()
    page_errors = [f"{w.name}: {e}" for w in watched for e in w.page_errors]
    if page_errors:
        pytest.fail("JavaScript errors on the page:\n" + "\n".join(page_errors))
    if refused:
        pytest.fail("The Content-Security-Policy blocked:\n" + "\n".join(refused))


@pytest.fixture
def phone(open_page) -> Page:
    """A cheap Android phone's screen: 360×740, Chinese locale, Beijing time."""
    return open_page(PHONE, "phone")


@pytest.fixture
def online_phone(world, publish, phone_profile, live_server):
    """A mediator's phone, logged in online once, with the app ready to work offline."""
    publish(SCREENING)
    phone = phone_profile(live_server)
    page = phone.new_page()
    log_in(page, world.mediator, world.password)
    ready_offline(page)
    return phone, page
