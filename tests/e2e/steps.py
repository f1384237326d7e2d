"""Small steps a user takes in the browser, shared by the end-to-end stories."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}


def snap(page: Page, name: str) -> Path:
    """Save a full-page screenshot as ``test-artifacts/<name>.png`` (for humans)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name).strip('-')[:120]}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def log_in(page: Page, username: str, password: str) -> None:
    """Log in through the login page and land on the home page (the list of forms)."""
    page.goto("/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(password)
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#username")).to_have_count(0)


def open_form(page: Page, title: str) -> None:
    """In the phone app, tap a form's title and wait until its questions are drawn."""
    page.locator("a.form-link", has_text=title).click()
    expect(page.locator("#finalize-btn")).to_be_visible()
    expect(page.locator(".q:not([hidden])").first).to_be_visible()


def publish_and_open(page: Page, publish, path: Path, xlsx: bytes, title: str) -> None:
    """A form administrator publishes the XLSForm ``xlsx`` (written to ``path``); the
    mediator's phone syncs and opens it (``publish`` is the test's fixture)."""
    path.write_bytes(xlsx)
    publish(path)
    page.goto("/app")
    page.locator("#sync-now").click()
    open_form(page, title)


def open_server_form(page: Page, form_id: str) -> None:
    """Open the online (server-rendered) fill page of a form."""
    page.goto(f"/surveys/{form_id}/fill")
    expect(page.locator("#submit-btn")).to_be_visible()


def finalize(page: Page) -> None:
    """Tap 完成并发送 and wait until the app is back on its home screen."""
    page.locator("#finalize-btn").click()
    expect(page.locator("#status-bar")).to_be_visible()
    expect(page.locator("a.form-link").first).to_be_visible()


def count(page: Page, key: str) -> Locator:
    """The number shown in the status bar for drafts, waiting, sent or attention."""
    return page.locator(f'#status-bar [data-count="{key}"]')


def question(scope: Page | Locator, name: str) -> Locator:
    """The card of the question called ``name`` (its XLSForm name)."""
    return scope.locator(f'.q[data-name="{name}"]')


def member(page: Page, n: int) -> Locator:
    """The n-th (1-based) household member block of the repeat."""
    return page.locator(
        'section.repeat[data-name="household_members"] fieldset.repeat-instance'
    ).nth(n - 1)


def fill(scope: Page | Locator, label: str, text: str) -> Locator:
    """Type an answer into the text/number/date box labelled ``label``."""
    box = scope.get_by_label(label, exact=True)
    box.fill(text)
    box.blur()  # the worker taps on to the next question
    return box


def tick(scope: Page | Locator, name: str, *choices: str) -> None:
    """Tap the choices (by their visible label) of question ``name``."""
    for choice in choices:
        question(scope, name).locator(
            "label.choice", has_text=re.compile(rf"^\s*{re.escape(choice)}\s*$")
        ).click()


def download(page: Page, link: Locator, folder: Path) -> bytes:
    """Click a download link; return the downloaded file's bytes."""
    with page.expect_download() as info:
        link.click()
    path = folder / info.value.suggested_filename
    info.value.save_as(path)
    return path.read_bytes()


def csv_rows(raw: bytes) -> list[dict[str, str]]:
    """The rows of a UTF-8 CSV (with or without BOM) as dicts keyed by column name."""
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def ready_offline(page: Page) -> None:
    """Wait until the service worker controls the app, so it can open without network."""
    page.wait_for_function("() => navigator.serviceWorker && navigator.serviceWorker.controller")
    expect(page.locator("a.form-link").first).to_be_visible()


def fill_household(page: Page, head: str, day: str) -> None:
    """The screening's first part: where and who (one member, the head, 44)."""
    fill(page, "排查日期", day)
    fill(page, "镇/街道", "新华街道")
    fill(page, "村/社区", "和平社区")
    fill(page, "户主姓名", head)
    fill(page, "家庭住址", "和平社区5栋")
    fill(member(page, 1), "成员姓名", head)
    fill(member(page, 1), "年龄（周岁）", "44")


def fill_screening(page: Page, head: str) -> None:
    open_form(page, "问题家庭排查")
    fill_household(page, head, "2026-11-20")
    tick(page, "has_conflict", "否")
    tick(page, "risk_level", "低")
    tick(page, "referral", "无需转介")
    expect(page.locator("#save-state")).to_contain_text("已保存")
