"""Every answer is exact (issue 12): a number typed wrongly is never sent as a shorter
number that happened to parse, the draft keeps what was typed and its error across a
reopen, and finalize is blocked only by questions a person can see, each marked."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from fieldapp.extensions import db
from fieldapp.submissions.models import Submission
from tests.e2e.steps import (
    count,
    fill,
    finalize,
    open_form,
    publish_and_open,
    question,
    snap,
    tick,
)
from tests.helpers import xlsform

pytestmark = pytest.mark.e2e

PAYMENT_FORM = xlsform(
    [
        ["type", "name", "label", "required", "calculation"],
        ["decimal", "amount", "救助金额（元）", "yes", ""],
        ["calculate", "doubled", "", "", "${amount} * 2"],
        # A required calculate that is blank for small amounts: ODK Collect never asks
        # anyone to fix a calculation, and neither do we.
        ["calculate", "big_case", "", "yes", "if(${amount} > 100, 'big', '')"],
        ["text", "remark", "备注", "", ""],
    ],
    settings=[["form_id", "version", "form_title"], ["relief_payment", "1", "救助发放登记"]],
)


def test_a_mistyped_number_is_kept_with_its_error_and_never_sent_short(
    app, publish, online_phone, tmp_path
):
    phone, page = online_phone
    publish_and_open(page, publish, tmp_path / "relief_payment.xlsx", PAYMENT_FORM, "救助发放登记")

    # "1.2.3": while typing, "1.2" parsed; the question must not keep it.
    fill(page, "救助金额（元）", "1.2.3")
    amount = question(page, "amount")
    expect(amount.locator(".constraint-msg")).to_contain_text("请填写数字")
    expect(page.locator("#save-state")).to_contain_text("已保存")

    # The phone restarts: the draft reopens with the same text and the same error.
    page.reload()
    box = page.get_by_label("救助金额（元）", exact=True)
    expect(box).to_have_value("1.2.3")
    expect(amount.locator(".constraint-msg")).to_contain_text("请填写数字")

    # Finalize is blocked, and the one problem is pointed to.
    page.locator("#finalize-btn").click()
    expect(page.locator("#submit-error")).to_have_text("还有 1 题需要修改")
    expect(page.locator(".q.q-invalid")).to_have_count(1)
    expect(amount).to_have_class("q q-decimal q-invalid")

    # Fixed: the required calculate (blank for 12.5) does not hold anything up.
    fill(page, "救助金额（元）", "12.5")
    expect(amount.locator(".constraint-msg")).to_be_hidden()
    finalize(page)
    expect(count(page, "sent")).to_have_text("1", timeout=30_000)
    with app.app_context():
        [sub] = db.session.scalars(select(Submission)).all()
        assert sub.data["amount"] == "12.5"
        assert sub.data["doubled"] == "25"
        assert sub.data.get("big_case", "") == ""


SKIP_FORM = xlsform(
    [
        ["type", "name", "label", "calculation", "relevant"],
        ["decimal", "amount", "救助金额（元）", "", ""],
        ["calculate", "at_least_one", "", "max(${amount}, 1)", ""],
        ["calculate", "same", "", "if(${amount} = ${at_least_one}, 'yes', 'no')", ""],
        ["calculate", "joined", "", "concat(${amount}, '|', ${at_least_one})", ""],
        ["select_one yn", "violence", "是否有家暴情况", "", ""],
        ["text", "violence_detail", "家暴情况说明", "", "${violence} = 'yes'"],
    ],
    choices=[["list_name", "name", "label"], ["yn", "yes", "是"], ["yn", "no", "否"]],
    settings=[["form_id", "version", "form_title"], ["relief_check", "1", "救助核查"]],
)


def _choose(page, name: str, label: str) -> None:
    question(page, name).locator("label.choice", has_text=label).click()


def test_a_whole_number_is_the_same_number_typed_or_computed(app, publish, online_phone, tmp_path):
    """A whole number typed into a decimal question is "2" (not "2.0"): equal to max()'s
    2 in comparisons and concat(), and in the payload (the engine patch we carry)."""
    phone, page = online_phone
    publish_and_open(page, publish, tmp_path / "relief_check.xlsx", SKIP_FORM, "救助核查")
    fill(page, "救助金额（元）", "2")
    _choose(page, "violence", "否")
    finalize(page)
    expect(count(page, "sent")).to_have_text("1", timeout=30_000)
    with app.app_context():
        [sub] = db.session.scalars(select(Submission)).all()
        assert sub.data["amount"] == "2"
        assert sub.data["same"] == "yes"
        assert sub.data["joined"] == "2|2"


def test_a_skipped_question_loses_its_answer_live_and_after_a_reopen(
    app, publish, online_phone, tmp_path
):
    """The rule: a question that is skipped (turns non-relevant) loses its answer. Live,
    the answer does not come back when the question does; a reopened draft agrees; the
    submission does not carry it."""
    phone, page = online_phone
    publish_and_open(page, publish, tmp_path / "relief_check.xlsx", SKIP_FORM, "救助核查")
    fill(page, "救助金额（元）", "300")
    _choose(page, "violence", "是")
    fill(page, "家暴情况说明", "丈夫酒后动手")
    _choose(page, "violence", "否")
    expect(question(page, "violence_detail")).to_be_hidden()
    _choose(page, "violence", "是")  # a mistaken tap, corrected
    detail = page.get_by_label("家暴情况说明", exact=True)
    expect(detail).to_have_value("")
    _choose(page, "violence", "否")
    expect(page.locator("#save-state")).to_contain_text("已保存")
    page.reload()
    expect(page.locator("#finalize-btn")).to_be_visible()
    _choose(page, "violence", "是")
    expect(detail).to_have_value("")  # the same as live
    _choose(page, "violence", "否")
    finalize(page)
    expect(count(page, "sent")).to_have_text("1", timeout=30_000)
    with app.app_context():
        [sub] = db.session.scalars(select(Submission)).all()
        assert sub.data["violence"] == "no"
        assert sub.data.get("violence_detail", "") == ""


CASCADE_FORM = xlsform(
    [
        ["type", "name", "label", "choice_filter"],
        ["select_one prov", "prov", "所在片区", ""],
        ["select_one city", "city", "主要居住地", "prov=${prov}"],
        ["select_multiple city", "cities", "去过的地方", "prov=${prov}"],
    ],
    choices=[
        ["list_name", "name", "label", "prov"],
        ["prov", "p1", "北片", ""],
        ["prov", "p2", "南片", ""],
        ["city", "c1", "北村一", "p1"],
        ["city", "c2", "北村二", "p1"],
        ["city", "c3", "南村三", "p2"],
        ["city", "c4", "南村四", "p2"],
    ],
    settings=[["form_id", "version", "form_title"], ["where_lived", "1", "居住地登记"]],
)


def test_an_answer_no_longer_offered_is_dropped_live_and_after_a_reopen(
    app, publish, online_phone, tmp_path
):
    """The rule for cascades (choice_filter): when the parent changes and an answer is no
    longer offered, it is dropped for good. Live, it does not come back when the parent
    changes back (the engine would bring it back, but a reopened draft had lost it); a
    reopened draft agrees; the submission does not carry it. Found by a tester."""
    phone, page = online_phone
    publish_and_open(page, publish, tmp_path / "where_lived.xlsx", CASCADE_FORM, "居住地登记")
    _choose(page, "prov", "北片")
    _choose(page, "city", "北村二")
    _choose(page, "cities", "北村一")
    _choose(page, "prov", "南片")
    expect(question(page, "city").locator("label.choice", has_text="南村三")).to_be_visible()
    _choose(page, "prov", "北片")  # back: what was chosen under 北片 is not chosen again
    expect(question(page, "city").locator("label.choice", has_text="北村二")).to_be_visible()
    expect(question(page, "city").locator("input:checked")).to_have_count(0)
    expect(question(page, "cities").locator("input:checked")).to_have_count(0)
    _choose(page, "city", "北村一")
    _choose(page, "prov", "南片")
    expect(page.locator("#save-state")).to_contain_text("已保存")
    page.reload()
    expect(page.locator("#finalize-btn")).to_be_visible()
    _choose(page, "prov", "北片")
    expect(question(page, "city").locator("input:checked")).to_have_count(0)  # as live
    _choose(page, "prov", "南片")
    _choose(page, "city", "南村四")
    finalize(page)
    expect(count(page, "sent")).to_have_text("1", timeout=30_000)
    with app.app_context():
        [sub] = db.session.scalars(select(Submission)).all()
        assert (sub.data["prov"], sub.data["city"]) == ("p2", "c4")
        assert sub.data.get("cities", "") == ""


def test_a_readonly_answer_no_longer_offered_is_dropped_once_it_can_be(
    app, publish, online_phone, tmp_path
):
    """The same rule while the question is locked (readonly): a locked answer cannot be
    changed, so it is dropped as soon as the lock is off, and does not come back when the
    parent changes back (found by a tester)."""
    form = xlsform(
        [
            ["type", "name", "label", "choice_filter", "readonly"],
            ["select_one prov", "prov", "所在片区", "", ""],
            ["select_one city", "city", "主要居住地", "prov=${prov}", "${lock} = 'yes'"],
            ["select_one yn", "lock", "锁定居住地", "", ""],
        ],
        choices=[
            ["list_name", "name", "label", "prov"],
            ["prov", "p1", "北片", ""],
            ["prov", "p2", "南片", ""],
            ["city", "c1", "北村一", "p1"],
            ["city", "c2", "南村二", "p2"],
            ["yn", "yes", "是", ""],
            ["yn", "no", "否", ""],
        ],
        settings=[["form_id", "version", "form_title"], ["where_locked", "1", "居住地锁定"]],
    )
    phone, page = online_phone
    publish_and_open(page, publish, tmp_path / "where_locked.xlsx", form, "居住地锁定")
    _choose(page, "prov", "北片")
    _choose(page, "city", "北村一")
    _choose(page, "lock", "是")
    _choose(page, "prov", "南片")
    _choose(page, "lock", "否")
    _choose(page, "prov", "北片")
    expect(question(page, "city").locator("label.choice", has_text="北村一")).to_be_visible()
    expect(question(page, "city").locator("input:checked")).to_have_count(0)


def _villages_form() -> bytes:
    choices = [["list_name", "name", "label"]]
    choices += [["village", f"v{n:04d}", f"第{n}村"] for n in range(5000)]
    choices += [
        ["kind", "lecture", "普法讲座"],
        ["kind", "visit", "入户走访"],
        ["kind", "quiz", "知识竞赛"],
    ]
    return xlsform(
        [
            ["type", "name", "label"],
            ["select_one village", "village", "所在村"],
            ["select_multiple village", "villages_reached", "覆盖的村"],
            ["select_multiple kind", "kinds", "活动形式"],
        ],
        choices=choices,
        settings=[["form_id", "version", "form_title"], ["outreach_big", "1", "宣传覆盖登记"]],
    )


def test_a_list_of_five_thousand_choices_draws_only_what_is_found(
    app, publish, online_phone, tmp_path
):
    """A 5,000-village list is searched, never drawn whole: at most 50 rows and a line
    saying how many more; a choice made in one search stays chosen through the next."""
    phone, page = online_phone
    publish_and_open(
        page, publish, tmp_path / "outreach_big.xlsx", _villages_form(), "宣传覆盖登记"
    )
    village = question(page, "village")
    expect(village.locator("label.choice")).to_have_count(50)
    expect(village.locator(".choices-more")).to_have_text("还有 4950 项未显示，请输入文字查找")
    village.locator("input.choices-search").fill("第4321村")
    expect(village.locator("label.choice")).to_have_count(1)
    expect(village.locator(".choices-more")).to_be_hidden()
    _choose(page, "village", "第4321村")
    expect(village.locator("label.choice")).to_have_count(1)  # the choice, and 更换
    expect(village.locator("button.choices-change")).to_be_visible()

    reached = question(page, "villages_reached")
    search = reached.locator("input.choices-search")
    search.fill("第1234村")
    _choose(page, "villages_reached", "第1234村")
    search.fill("第777村")
    _choose(page, "villages_reached", "第777村")
    search.fill("")
    expect(reached.locator("label.choice input:checked")).to_have_count(2)  # both kept
    tick_all = question(page, "kinds")
    expect(tick_all.locator("label.choice")).to_have_count(3)  # a short list: all drawn
    _choose(page, "kinds", "普法讲座")
    finalize(page)
    expect(count(page, "sent")).to_have_text("1", timeout=30_000)
    with app.app_context():
        [sub] = db.session.scalars(select(Submission)).all()
        assert sub.data["village"] == "v4321"
        assert sorted(sub.data["villages_reached"].split()) == ["v0777", "v1234"]
        assert sub.data["kinds"] == "lecture"


SECTIONS_FORM = xlsform(
    [
        ["type", "name", "label", "relevant"],
        ["select_one yn", "has_minors", "家中是否有未成年人", ""],
        ["begin_group", "minors", "未成年人情况", "${has_minors} = 'yes'"],
        *[["text", f"minor_q{n}", f"未成年人问题{n}", ""] for n in range(40)],
        ["end_group", "", "", ""],
        ["begin_repeat", "members", "家庭成员", ""],
        ["text", "member_name", "成员姓名", ""],
        ["end_repeat", "", "", ""],
    ],
    choices=[["list_name", "name", "label"], ["yn", "yes", "是"], ["yn", "no", "否"]],
    settings=[["form_id", "version", "form_title"], ["household_sections", "1", "家庭分项调查"]],
)


def test_skipped_sections_are_not_drawn_until_shown_and_members_keep_their_numbers(
    app, publish, online_phone, tmp_path
):
    """A section skipped at the start costs nothing on screen until it is shown (then it
    works as any other); removing a member renumbers only those after it."""
    phone, page = online_phone
    publish_and_open(
        page, publish, tmp_path / "household_sections.xlsx", SECTIONS_FORM, "家庭分项调查"
    )
    assert page.locator(".q .q-label").count() < 5  # not the 40 hidden questions
    _choose(page, "has_minors", "是")
    expect(page.locator('.q[data-name^="minor_q"]:not([hidden])')).to_have_count(40)
    fill(page, "未成年人问题7", "在读初中")
    members = page.locator('section.repeat[data-name="members"] fieldset.repeat-instance')
    for n in range(1, 4):
        fill(members.nth(n - 1), "成员姓名", f"成员{n}")
        if n < 3:
            page.locator('section.repeat[data-name="members"] button.repeat-add').click()
    expect(members).to_have_count(3)
    page.once("dialog", lambda d: d.accept())  # 确定删除这一项吗？
    members.nth(1).locator("button.repeat-remove").click()
    expect(members).to_have_count(2)
    expect(members.nth(1).locator("legend")).to_have_text("家庭成员 第 2 项")
    expect(members.nth(1).get_by_label("成员姓名", exact=True)).to_have_value("成员3")
    finalize(page)
    expect(count(page, "sent")).to_have_text("1", timeout=30_000)
    with app.app_context():
        [sub] = db.session.scalars(select(Submission)).all()
        assert sub.data["minors"]["minor_q7"] == "在读初中"
        assert [m["member_name"] for m in sub.data["members"]] == ["成员1", "成员3"]


def test_a_choice_label_naming_a_member_shows_that_member_in_each_repeat_instance(
    app, publish, online_phone, tmp_path
):
    """A choice label with ``${name}`` inside a repeat (pyxform writes an absolute path for
    it) names the member of its own repeat instance, as ODK Collect shows it, not the first
    member's (found by a tester: the 2nd member's choices named the 1st)."""
    form = xlsform(
        [
            ["type", "name", "label"],
            ["begin_repeat", "members", "家庭成员"],
            ["text", "member_name", "成员姓名"],
            ["select_one who", "present", "在场的是"],
            ["end_repeat", "", ""],
        ],
        choices=[
            ["list_name", "name", "label"],
            ["who", "self", "${member_name}本人"],
            ["who", "other", "其他家人"],
        ],
        settings=[["form_id", "version", "form_title"], ["who_present", "1", "在场人员登记"]],
    )
    phone, page = online_phone
    publish_and_open(page, publish, tmp_path / "who_present.xlsx", form, "在场人员登记")
    members = page.locator('section.repeat[data-name="members"] fieldset.repeat-instance')
    fill(members.nth(0), "成员姓名", "王芳")
    page.locator('section.repeat[data-name="members"] button.repeat-add').click()
    fill(members.nth(1), "成员姓名", "李强")
    expect(question(members.nth(0), "present").locator("label.choice").first).to_have_text("王芳本人")
    expect(question(members.nth(1), "present").locator("label.choice").first).to_have_text("李强本人")
    question(members.nth(1), "present").locator("label.choice", has_text="李强本人").click()
    fill(members.nth(0), "成员姓名", "王芳芳")  # a later change follows in its own instance only
    expect(question(members.nth(0), "present").locator("label.choice").first).to_have_text("王芳芳本人")
    expect(question(members.nth(1), "present").locator("label.choice").first).to_have_text("李强本人")
    finalize(page)
    expect(count(page, "sent")).to_have_text("1", timeout=30_000)
    with app.app_context():
        [sub] = db.session.scalars(select(Submission)).all()
        assert [(m["member_name"], m.get("present", "")) for m in sub.data["members"]] == [
            ("王芳芳", ""),
            ("李强", "self"),
        ]


def _png(rgb: tuple[int, int, int]) -> bytes:
    """A 4×4 PNG of one colour (a choice's picture)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes(rgb) * 4 for _ in range(4))
    header = struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def test_choices_with_pictures_show_them_and_a_tap_on_one_chooses_it(app, online_phone):
    """media::image on the choices sheet (pictures for people who read little): each
    choice shows its picture beside its text, from the form's attachments (found by a
    tester: only the text was drawn)."""
    from fieldapp.areas.services import get_area
    from fieldapp.surveys.services import import_xlsform

    form = xlsform(
        [["type", "name", "label"], ["select_one face", "mood", "今天心情怎么样"]],
        choices=[
            ["list_name", "name", "label", "media::image"],
            ["face", "good", "好", "good.png"],
            ["face", "bad", "不好", "bad.png"],
            ["face", "unsure", "说不清", ""],
            ["face", "other", "其他", "never_uploaded.png"],
        ],
        settings=[["form_id", "version", "form_title"], ["mood_check", "1", "心情登记"]],
    )
    with app.app_context():
        media = [("good.png", _png((0, 160, 0))), ("bad.png", _png((200, 0, 0)))]
        import_xlsform(form, "mood_check.xlsx", get_area("3399"), media=media)
        db.session.commit()
    phone, page = online_phone
    page.goto("/app")
    page.locator("#sync-now").click()
    open_form(page, "心情登记")
    pictures = question(page, "mood").locator("img.choice-image")
    expect(pictures).to_have_count(3)
    page.wait_for_function(
        "() => [...document.querySelectorAll('img.choice-image')].slice(0, 2)"
        ".every((i) => i.complete && i.naturalWidth === 4)"
    )
    # A picture the form names but nobody uploaded: no broken-image box, the text stays.
    expect(pictures.nth(2)).to_be_hidden()
    expect(question(page, "mood").locator("label.choice", has_text="其他")).to_be_visible()
    pictures.nth(1).click()
    expect(question(page, "mood").locator("input:checked")).to_have_value("bad")
    snap(page, "choice-pictures")
    finalize(page)
    expect(count(page, "sent")).to_have_text("1", timeout=30_000)
    with app.app_context():
        [sub] = db.session.scalars(select(Submission)).all()
        assert sub.data["mood"] == "bad"


VISIT_FORM = xlsform(
    [
        ["type", "name", "label", "relevant", "read_only", "default", "calculation"],
        ["text", "head", "户主姓名", "", "", "", ""],
        ["integer", "members", "家庭人数", "", "", "", ""],
        ["select_one yn", "conflict", "是否有家庭矛盾", "", "", "", ""],
        ["text", "conflict_detail", "矛盾情况", "${conflict} = 'yes'", "", "", ""],
        ["text", "case_no", "案件编号", "", "yes", "A-001", ""],
        ["note", "reminder", "请如实填写", "", "", "", ""],
        ["calculate", "big", "", "", "", "", "if(${members} > 5, 'yes', 'no')"],
        ["text", "town", "镇/街道", "", "", "", ""],
    ],
    choices=[["list_name", "name", "label"], ["yn", "yes", "是"], ["yn", "no", "否"]],
    settings=[["form_id", "version", "form_title"], ["home_visit", "1", "入户走访"]],
)


def test_a_draft_line_names_the_household_and_counts_the_questions_asked(
    publish, online_phone, tmp_path
):
    """On the home screen a draft is told from the others by its first two text answers,
    and 已答 counts the questions now asked: one shown by an answer counts, a read-only
    one, a note and a calculation do not."""
    phone, page = online_phone
    publish_and_open(page, publish, tmp_path / "home_visit.xlsx", VISIT_FORM, "入户走访")
    fill(page, "户主姓名", "王秀英")
    fill(page, "镇/街道", "城关镇")
    expect(page.locator("#save-state")).to_contain_text("已保存")
    page.locator("a.back-link").click()
    line = page.locator(".draft-item", has_text="入户走访")
    expect(line.locator(".item-summary")).to_have_text("王秀英 · 城关镇")
    expect(line.locator(".item-meta")).to_contain_text("已答 2/4 题")
    expect(count(page, "drafts")).to_have_text("1")

    line.locator("button.resume").click()
    expect(page.get_by_label("户主姓名", exact=True)).to_have_value("王秀英")
    tick(page, "conflict", "是")
    expect(question(page, "conflict_detail")).to_be_visible()
    expect(page.locator("#save-state")).to_contain_text("已保存")
    page.locator("a.back-link").click()
    expect(line.locator(".item-meta")).to_contain_text("已答 3/5 题")
    expect(count(page, "drafts")).to_have_text("1")  # the same draft, saved again
    snap(page, "draft-line-counts")
