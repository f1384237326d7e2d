"""The Content-Security-Policy holds in the browser (issue 14): what a page would run or
style inline is refused, and the e2e page watcher sees it (so every other browser test
fails on a violation)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import watch_csp

pytestmark = pytest.mark.e2e


def test_injected_inline_script_and_style_are_refused_and_reported(browser, live_server):
    context = browser.new_context(base_url=live_server)
    seen: list[str] = []
    watch_csp(context, seen)
    try:
        page = context.new_page()
        page.goto("/login")
        expect(page.locator("form")).to_be_visible()
        assert seen == []  # the login page itself breaks no rule
        # What an injected text could try: an inline script and a style attribute.
        page.evaluate(
            """() => {
                const s = document.createElement('script');
                s.textContent = 'window.__ran = true';
                document.body.append(s);
                document.body.setAttribute('style', 'background:red');
            }"""
        )
        for _ in range(20):  # the reports arrive as console events
            if any("style-src" in line for line in seen):
                break
            page.wait_for_timeout(100)
        assert page.evaluate("() => window.__ran === undefined")
        assert any("script-src" in line for line in seen)
        assert any("style-src" in line for line in seen)
    finally:
        context.close()
