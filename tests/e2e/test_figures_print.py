"""The city admin prints the yearly figures: the browser's print to PDF gives A4 pages
in Chinese, with the charts drawn and nothing of the screen's navigation; on a phone the
page reads without sideways scrolling."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.steps import ARTIFACTS, DESKTOP, PHONE, log_in, snap
from tests.helpers import BUNDLED_FORMS

pytestmark = pytest.mark.e2e

A4_PRINTABLE_PX = 718  # 210 mm less the page margins (2 × 10 mm), at 96 px per inch


def _activities(submit, world):
    """Lectures and mock courts in both districts, this year and the year before."""
    people = [world.mediator, world.mediator2, world.mediator3]
    answers = [
        {
            "start": f"{year}-0{month}-10T10:00:00.000+08:00",
            "activity_date": f"{year}-0{month}-10",
            "activity_kind": kind,
            "place": "活动室",
            "participants": str(40 + 7 * n),
        }
        for n, (year, month, kind) in enumerate(
            [(2026, 3, "lecture"), (2026, 8, "mock_court"), (2025, 4, "lecture")] * 3
        )
    ]
    submit(BUNDLED_FORMS / "outreach_activity.xlsx", answers, by=people * 3)


def test_the_figures_print_on_a4(world, publish, submit, open_page):
    for name in ("family_screening", "mediation_visit", "referral", "court_work"):
        publish(BUNDLED_FORMS / f"{name}.xlsx")
    _activities(submit, world)
    page = open_page(DESKTOP, "desktop")
    log_in(page, world.admin, world.password)
    page.goto("/figures/?year=2026")
    expect(page.locator("#fig-outreach_lectures .value")).to_have_text("3")
    expect(page.locator("#fig-outreach_people_reached svg.bars rect.year")).to_have_count(1)
    snap(page, "figures-screen")

    page.emulate_media(media="print")
    expect(page.locator("header.topbar")).to_be_hidden()
    expect(page.locator("form.toolbar")).to_be_hidden()
    page.set_viewport_size({"width": A4_PRINTABLE_PX, "height": 1000})
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= A4_PRINTABLE_PX, width  # nothing cut at the page's right edge
    snap(page, "figures-print")
    pdf = page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "figures-print.pdf").write_bytes(pdf)
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert 1 <= pages <= 4, pages
    # A4 portrait: 595 × 842 points.
    assert re.search(rb"/MediaBox\s*\[\s*0 0 59[45](\.\d+)? 84[12]", pdf)


def test_the_figures_read_on_a_phone(world, publish, submit, open_page):
    _activities(submit, world)
    page = open_page(PHONE, "phone")
    log_in(page, world.supervisor, world.password)
    page.goto("/figures/?year=2026")
    expect(page.locator("h1")).to_contain_text("东城区")
    expect(page.locator("#fig-outreach_sessions .value")).to_have_text("6")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    snap(page, "figures-phone")
