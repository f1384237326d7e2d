"""A phone's first visit downloads the app's code once: the service worker's precache takes
the files the page has just downloaded (content-hashed chunks and WebAssembly) from the
HTTP cache instead of fetching them again. Cheap data plans and poor signal make the
second copy of the form engine (some 250 KB gzip) a real cost (issue 12: the boot path
asks for the engine at once, which had made the precache download it a second time)."""

from __future__ import annotations

import logging
import re
from collections import Counter
from pathlib import Path

from tests.e2e.steps import log_in, open_form, ready_offline
from tests.helpers import SCREENING

BUILD = Path(__file__).resolve().parents[2] / "static" / "build"
REQUEST = re.compile(r'"GET (/static/build/\S+) HTTP/[\d.]+" (\d{3})')


def full_downloads(records) -> Counter:
    """Responses with a body (200) per path under /static/build/, from the live server's
    request log (a revalidation answered 304 carries no body)."""
    seen: Counter = Counter()
    for record in records:
        m = REQUEST.search(record.getMessage())
        if m and m.group(2) == "200":
            seen[m.group(1)] += 1
    return seen


def test_a_first_visit_downloads_each_code_file_once(
    world, publish, phone_profile, live_server, caplog
):
    caplog.set_level(logging.INFO, logger="werkzeug")
    publish(SCREENING)
    phone = phone_profile(live_server)
    page = phone.new_page()
    log_in(page, world.mediator, world.password)
    ready_offline(page)
    open_form(page, "问题家庭排查")  # the engine's code, now through the service worker
    page.wait_for_load_state("networkidle")

    downloads = full_downloads(caplog.records)
    engine = max((BUILD / "chunks").glob("*.js"), key=lambda p: p.stat().st_size)
    wasm = sorted(p.name for p in (BUILD / "wasm").glob("*.wasm"))
    assert downloads[f"/static/build/chunks/{engine.name}"] == 1, downloads
    assert wasm and all(downloads[f"/static/build/wasm/{name}"] == 1 for name in wasm), downloads
    # app.js and boot.js keep their names from one build to the next, so the precache
    # fetches them fresh (a few KB); every file named by its content comes once.
    hashed = ("/static/build/chunks/", "/static/build/wasm/")
    twice = {p: n for p, n in downloads.items() if n > 1 and p.startswith(hashed)}
    assert not twice, f"downloaded more than once on a first visit: {twice}"
