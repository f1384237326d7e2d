"""A phone opens the server over plain http on the network (no HTTPS yet): the app
says that HTTPS is what is missing, not that the browser is too old."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_plain_http_on_the_network_says_https_is_needed(browser, live_server):
    lan = live_server.replace("127.0.0.1", "lan.test")
    page = browser.new_page(viewport={"width": 360, "height": 740})
    try:
        page.goto(f"{lan}/app")
        assert page.evaluate("window.isSecureContext") is False
        expect(page.locator("#insecure")).to_be_visible()
        expect(page.locator("#insecure")).to_contain_text("https")
        expect(page.locator("#unsupported")).to_be_hidden()
    finally:
        page.close()
