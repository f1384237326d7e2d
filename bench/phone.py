"""Phone-side performance of fieldapp's form filler against ODK Web Forms, in one run.

On a generated 400-question form (bench/make_form.py; ``--form`` for another: ``bench200``,
the 200-question household survey of bench/make_form.py, an XLSForm
such as ../shared/forms/ramOP.xlsx, or the stress forms of bench/engine_profile.py,
``big5000`` and ``roster150``), in headless Chromium at 360×740 with 4× CPU throttling,
for our UI and for ODK's reference UI (@getodk/web-forms, built from bench/package.json;
form attachments, ``--media DIR``, reach both from the form's media folder, as our app
serves them):

- bytes sent by the server on a first visit (cold cache) and on a repeat visit, in all
  and for code (JS/CSS) alone, counted at the server (so service-worker fetches count),
  raw and gzip-compressed;
- time from navigation to the first answerable question: as Playwright sees it (its
  wait needs the main thread free), and the first painted frame that shows a question,
  measured alike in both UIs by a script installed before the page's own (SEEN_HOOK);
  on a warm visit, for ours, also the longest task while the kept first screen is shown
  and so when a tap on it is handled at worst, and the real form in place;
- input latency per answer (typing into a box until two animation frames later),
  median and p95 over 30 answers;
- ``--measure`` (comma-separated, default all) adds, on the warm page (issue 12's
  targets): ``paint``, answers typed with the keyboard ("5", Tab) into questions that
  show others (the bench forms' section gates), until the frame after the handlers is
  presented, by our own frame mark and by the Event Timing API; ``filter``, keys typed
  into a long list's filter box (big5000) until the matches are painted; ``language``
  (ours, a form with two or more languages such as ramOP), the form's language switched
  in its language list and back, 6 times, each until painted; ``repeat``,
  repeat instances added one by one with the UI's add button up to ``--repeat-upto``
  (150), the 10th and the last timed until painted (ours once the draft is saved, as
  when a person adds the next member; the autosave's own tasks timed apart), and an
  answer typed in each;
  ``draft`` (ours), those instances answered, then the saved draft's URL reloaded and
  timed to its first answerable question.

Targets (issue 3): first visit at most 1/3 of Web Forms' bytes, first question in at
most 1/2 of its time, a repeat visit with zero network bytes for code. Issue 12: a warm
open's first question within 1 s on a 200-question form (``bench200``) and 2 s with
5,000 choices, at most half of Web Forms' time; an answer painted within 100 ms; the
150th repeat instance at most 1.5× the 10th; a 5,000-choice list filtered and drawn
within 200 ms; a 150-instance draft reopened within 3 s; a language switch as fast as
the warm open.

Usage: .venv/bin/python bench/phone.py [--runs 3]
       [--form bench400|bench200|bench200x2|big5000|roster150|X.xlsx] [--media DIR]
       [--measure all|open,paint,filter,language,repeat,draft] [--repeat-upto 150]
       [--only ours|webforms] [--ours-path "/app#/new/<form_id>"]
(``--ours-path /surveys/bench400/fill`` measures the online page instead of the app.)
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import quote

from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright
from werkzeug.middleware.shared_data import SharedDataMiddleware
from werkzeug.serving import WSGIRequestHandler, make_server

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
sys.path.insert(0, str(ROOT))

from bench.make_form import build as build_form  # noqa: E402
from bench.make_form import build_household, build_household_bilingual  # noqa: E402

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--lang=zh-CN",
]
CODE = (".js", ".css", ".mjs", ".wasm")


class Quiet(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):  # keep the output to the figures
        pass


class ByteCounter:
    """WSGI middleware: bytes of every response body, by path, raw and gzipped."""

    def __init__(self, app):
        self.app = app
        self.log: list[tuple[str, int, int]] = []
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        body = b"".join(self.app(environ, start_response))
        with self.lock:
            self.log.append(
                (
                    environ.get("PATH_INFO", ""),
                    len(body),
                    len(gzip.compress(body, 6)) if body else 0,
                )
            )
        return [body]

    def take(self) -> dict:
        with self.lock:
            log, self.log = self.log, []
        code = [e for e in log if e[0].endswith(CODE) or e[0] == "/sw.js"]
        return {
            "raw": sum(e[1] for e in log),
            "gzip": sum(e[2] for e in log),
            "code_raw": sum(e[1] for e in code),
            "code_gzip": sum(e[2] for e in code),
            "code_requests": len(code),
            "requests": len(log),
        }


def form_xlsx(tmp: Path, form: str) -> Path:
    """The XLSForm named by ``--form``: generated, or a file."""
    from bench.engine_profile import big_choices_form, repeat_form

    generated = {
        "bench400": build_form,
        "bench200": build_household,
        "bench200x2": build_household_bilingual,
        "big5000": big_choices_form,
        "roster150": repeat_form,
    }
    if form in generated:
        return generated[form](tmp / f"{form}.xlsx")
    return Path(form)


def prepare(tmp: Path, form: str = "bench400", media_dir: str | None = None):
    """A fieldapp instance with the form (and its media), and the Web Forms harness built
    with the same form and media. Returns (counter, form_id)."""
    from fieldapp import create_app
    from fieldapp.areas.services import create_area
    from fieldapp.auth.services import create_user
    from fieldapp.extensions import db
    from fieldapp.migrate import upgrade
    from fieldapp.surveys.services import import_xlsform

    url = f"sqlite:///{tmp / 'bench.sqlite3'}"
    upgrade(url)
    app = create_app(
        {
            "DATABASE_URL": url,
            "INSTANCE_PATH": str(tmp),
            "SECRET_KEY": "bench",
            "LOGIN_RATE_LIMIT": "1000 per minute",
        }
    )
    xlsx = form_xlsx(tmp, form)
    media = (
        [(f.name, f.read_bytes()) for f in sorted(Path(media_dir).iterdir()) if f.is_file()]
        if media_dir
        else []
    )
    with app.app_context():
        city = create_area("9900", "测试市", "city")
        create_user("bench", "bench-password", "mediator", city)
        fv = import_xlsform(xlsx.read_bytes(), xlsx.name, city, media=media).form_version
        db.session.commit()
        xform = fv.xform
        form_id = fv.form.form_id
    if not (BENCH / "node_modules" / "@getodk" / "web-forms").exists():
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=BENCH, check=True
        )
    subprocess.run(["npm", "run", "--silent", "build"], cwd=BENCH, check=True, capture_output=True)
    site = tmp / "webforms-site"
    shutil.copytree(BENCH / "build", site)
    shutil.copy(BENCH / "webforms" / "index.html", site / "index.html")
    (site / "form.xml").write_text(xform, encoding="utf-8")
    (site / "media").mkdir()
    for name, data in media:
        (site / "media" / name).write_bytes(data)
    # Web Forms gets the same HTTP caching (ETag, max-age) that Flask gives our static files.
    counter = ByteCounter(
        SharedDataMiddleware(app, {"/bench": str(site)}, cache=True, cache_timeout=43200)
    )
    return counter, form_id


def network_idle(page, timeout=15_000) -> None:
    """Wait until the page has made no request for 500 ms, or ``timeout`` ms: Playwright
    never sees some module requests finish (a form with attachments, such as the UCL form,
    left three of ours pending for good), which must not end the run."""
    try:
        page.wait_for_load_state("networkidle", timeout=timeout)
    except PlaywrightTimeout:
        pass


def first_question(page, selector: str, timeout=120_000) -> None:
    page.wait_for_selector(selector, state="visible", timeout=timeout)


# Our app paints a form's kept first screen (static/js/app/snapshot.js) before its engine is
# ready: answerable, but skip logic follows only once the real form has taken its place.
LIVE = "#fieldapp-form:not(.provisional) .q:not([hidden]) input:not([hidden])"


# Our app's own marks on a warm open (ms from navigation start): when the route began, the
# form's record was read, its kept first screen was read and painted, the engine was
# ready, the real form drawn.
MARKS_JS = """() => Object.fromEntries(performance.getEntriesByType('mark')
  .filter((m) => m.name.startsWith('fieldapp:')).map((m) => [m.name.slice(9), Math.round(m.startTime)]))"""

# Long tasks (over 50 ms) of the page's main thread, kept from its start: a tap waits for
# the one under way. LONGEST_JS gives the longest that ran while our kept first screen was
# shown (from its first frame until the real form's), in ms: how long a tap on it may wait.
LONG_TASKS = """(() => {
  window.__long = [];
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__long.push([e.startTime, e.duration]);
    }).observe({type: 'longtask', buffered: true});
  } catch (e) { /* no Long Tasks API */ }
})()"""
LONGEST_JS = """() => {
  const marks = performance.getEntriesByType('mark');
  const from = marks.find((x) => x.name === 'fieldapp:first-screen-painted');
  const to = marks.find((x) => x.name === 'fieldapp:form-painted');
  if (!from || !to) return null;
  const during = window.__long.filter(([start, d]) => start + d > from.startTime && start < to.startTime);
  return Math.max(0, ...during.map(([start, d]) => Math.min(start + d, to.startTime) - Math.max(start, from.startTime)));
}"""

# The wall-clock time (s since the epoch) of the first frame that showed a question: the
# kept first screen's, else the real form's (our own marks, taken in a task posted from
# the frame's requestAnimationFrame callback).
SHOWN_JS = """() => {
  const marks = performance.getEntriesByType('mark');
  const m = marks.find((x) => x.name === 'fieldapp:first-screen-painted')
    || marks.find((x) => x.name === 'fieldapp:form-painted');
  return m ? (performance.timeOrigin + m.startTime) / 1000 : null;
}"""


# The same measure of "on screen" for both UIs, installed in every page before its own
# scripts: each animation frame until a question's input is visible, a check; the first
# frame that shows one posts a task, which runs once that frame is painted; its time (ms
# from navigation) is window.__seen. Playwright's own wait (first_question) needs the main
# thread free and its injected script evaluated in the new page (50 ms at 4×), so it tells
# when a tap could be handled, not when the question was first seen.
SEEN_HOOK = """((sel) => {
  const w = window;
  w.__seen = null;
  const tick = () => {
    const el = [...document.querySelectorAll(sel)].find((e) => e.checkVisibility());
    if (!el) { requestAnimationFrame(tick); return; }
    const ch = new MessageChannel();
    ch.port1.onmessage = () => { w.__seen = performance.now(); };
    ch.port2.postMessage(0);
  };
  requestAnimationFrame(tick);
})(%s);"""
SEEN_JS = "() => window.__seen === null ? null : (performance.timeOrigin + window.__seen) / 1000"


def seen(page, wall0: float, timeout=120_000) -> float:
    """Seconds from ``wall0`` (time.time() at navigation) to the first painted frame
    showing a question (SEEN_HOOK)."""
    page.wait_for_function("() => window.__seen !== null", timeout=timeout)
    return page.evaluate(SEEN_JS) - wall0


def live_form(page, ui: str, timeout=120_000) -> None:
    """Wait until the real form (not the kept first screen) is on the page."""
    if ui == "ours":
        page.wait_for_selector(LIVE, state="visible", timeout=timeout)


LATENCY_JS = """async (els) => {
  const out = [];
  for (const el of els.slice(0, 30)) {
    el.scrollIntoView({block: 'center'});
    el.focus();
    const t0 = performance.now();
    document.execCommand('insertText', false, '12');
    el.dispatchEvent(new Event('change', {bubbles: true}));
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    out.push(performance.now() - t0);
    el.blur();
  }
  return out;
}"""

# Installed in every page before its own scripts: when a key is pressed or a button
# clicked, (a) the Event Timing API (its `duration` runs from the input's hardware
# timestamp to the next frame presented after the handlers; entries under 16 ms are not
# reported), and (b) our own mark: each keydown/click (and the input, change and focusout
# it causes) asks for an animation frame, and a task posted from that frame's callback
# runs once the frame is painted; an input's time is the last such moment minus the
# keydown/click's timestamp, split at the last frame callback: before it, scripts (the
# handlers, the microtasks and tasks they queue: our code and the engine); after it, the
# browser's style, layout and paint of that frame.
PAINT_HOOK = """(() => {
  const w = window;
  w.__seq = 0; w.__marks = []; w.__events = []; w.__armed = false;
  function mark(e) {
    if (!w.__armed) return;
    if (e.type === 'keydown' || e.type === 'click') {
      w.__marks.push({seq: ++w.__seq, t0: e.timeStamp, raf: 0, post: 0});
    }
    const m = w.__marks[w.__marks.length - 1];
    if (!m) return;
    requestAnimationFrame(() => {
      m.raf = Math.max(m.raf, performance.now());
      const ch = new MessageChannel();
      ch.port1.onmessage = () => { m.post = Math.max(m.post, performance.now()); };
      ch.port2.postMessage(0);
    });
  }
  for (const type of ['keydown', 'click', 'input', 'change', 'focusout']) {
    addEventListener(type, mark, true);
  }
  try {
    new PerformanceObserver((list) => {
      if (!w.__armed) return;
      for (const e of list.getEntries()) {
        w.__events.push({name: e.name, start: e.startTime, dur: e.duration,
          pstart: e.processingStart, pend: e.processingEnd});
      }
    }).observe({type: 'event', durationThreshold: 16, buffered: false});
  } catch (err) { w.__noEventTiming = true; }
})();"""

SETTLE_JS = """() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(
  () => setTimeout(r, 120))))"""

# What each UI's markup is, for the measurements below.
UI = {
    "ours": {
        "question": ".q",
        "label": ".label-text",
        "number": "input[inputmode]",
        "add": ".repeat-add",
        "instance": ".repeat-instance",
        "search": ".choices-search",
    },
    "webforms": {
        "question": ".question-container",
        "label": "label",
        "number": "input[inputmode]",
        "add": ".button-add-instance",
        "instance": ".is-repeat",
        "search": "",  # Web Forms draws a plain list of choices: no filter box
    },
}


PARTS: list[tuple[float, float]] = []  # (scripts, style-layout-paint) of the slowest marks


def take_marks(page) -> tuple[list[float], list[float]]:
    """After some inputs: ([ms from input to painted frame per input], [Event Timing
    durations of their events, ms]); the page's lists are emptied. The slowest mark's
    split (scripts until the frame's callbacks, then style, layout and paint) goes to
    PARTS."""
    page.evaluate(SETTLE_JS)
    marks, events = page.evaluate(
        "() => { const r = [window.__marks, window.__events];"
        " window.__marks = []; window.__events = []; return r; }"
    )
    done = [m for m in marks if m["post"]]
    if done:
        m = max(done, key=lambda m: m["post"] - m["t0"])
        PARTS.append((m["raf"] - m["t0"], m["post"] - m["raf"]))
    return [m["post"] - m["t0"] for m in marks if m["post"]], [e["dur"] for e in events]


def parts_since(n: int) -> list[tuple[float, float]]:
    return PARTS[n:]


def arm(page, on: bool) -> None:
    page.evaluate("(on) => { window.__armed = on; window.__marks = []; window.__events = []; }", on)


def shown_questions(page, ui: str) -> int:
    return page.evaluate(
        "(sel) => [...document.querySelectorAll(sel)].filter((e) => e.checkVisibility()).length",
        UI[ui]["question"],
    )


def answer_paint(page, ui: str, answers: int = 8) -> dict:
    """Answers typed with the keyboard ("5", then Tab) into questions that show others:
    the bench forms' section gates (labels with "（数字）"); else, when the first question
    is a choice list, a tap on its first choice; else the first visible number boxes.
    Per answer: the slower of its two keys, by our mark and by Event Timing (the
    answer's events; none over 16 ms counts as 16), and questions shown after it."""
    q = UI[ui]
    boxes = page.locator(f"{q['question']}:has({q['label']}:text('（数字）')) {q['number']}")
    marks, timing, shown = [], [], []
    n0 = len(PARTS)
    first = page.locator(f"{q['question']}:visible").first
    radio = first.locator("input[type=radio]").first
    if not boxes.count() and radio.count():
        # A form that opens on a choice (big5000: the village shows the 20 others): the
        # answer is a tap on its first choice, once.
        radio.scroll_into_view_if_needed()
        page.evaluate(SETTLE_JS)
        before = shown_questions(page, ui)
        m, e = timed_click(page, radio)
        shown = [shown_questions(page, ui) - before]
        return {"marks": [m], "timing": [e], "shown": shown, "parts": parts_since(n0)}
    if not boxes.count():
        boxes = page.locator(f"{q['question']} {q['number']}")
    for i in range(min(answers, boxes.count())):
        box = boxes.nth(i)
        if not box.is_visible():
            continue
        box.scroll_into_view_if_needed()
        box.focus()
        page.evaluate(SETTLE_JS)
        before = shown_questions(page, ui)
        arm(page, True)
        page.keyboard.type("5")
        page.evaluate(SETTLE_JS)
        page.keyboard.press("Tab")
        m, e = take_marks(page)
        arm(page, False)
        marks.append(max(m) if m else float("nan"))
        timing.append(max(e) if e else 16.0)
        shown.append(shown_questions(page, ui) - before)
    return {"marks": marks, "timing": timing, "shown": shown, "parts": parts_since(n0)}


def timed_click(page, locator) -> tuple[float, float]:
    """Click (outside the timing: Playwright scrolls and checks first); (our mark, Event
    Timing) in ms, until the click's consequences are painted."""
    arm(page, True)
    locator.click()
    m, e = take_marks(page)
    arm(page, False)
    return (max(m) if m else float("nan"), max(e) if e else 16.0)


SAVED_JS = "() => document.querySelector('#save-state')?.textContent === '已保存'"
# Our autosave's three tasks (static/js/app/fillview.js: the instance serialized, the walk
# over its questions, the first screen's copy and the write), ms, of the latest save;
# taken, so that a save that found nothing changed is not counted again.
SAVE_TASKS_JS = """() => {
  const out = ['xml', 'scan', 'write'].map((k) => {
    const m = performance.getEntriesByName('fieldapp:save-' + k).pop();
    performance.clearMeasures('fieldapp:save-' + k);
    return m ? m.duration : null;
  });
  return out.every((x) => x !== null) ? out : null;
}"""


def repeat_adds(page, ui: str, upto: int = 150) -> dict:
    """Instances added one by one with the UI's add button up to ``upto``: per add, the
    time until painted (our mark and Event Timing); then an answer typed into the first
    number box of the 10th and the last instance. {adds: {n: (mark, timing)}, answer10,
    answer_last}. The button is the form's first; instances are counted in the whole
    form, so this is meant for a form with one repeat (roster150)."""
    q = UI[ui]
    add = page.locator(q["add"]).first
    if not add.count():
        return {}
    instances = page.locator(q["instance"])
    adds = {}
    parts = {}
    timed = set(range(8, 13)) | set(range(upto - 4, upto + 1))
    saves = {}  # n: the tasks (ms) of the autosave after the nth add, ours
    while (n := instances.count()) < upto:
        if ui == "ours" and n + 1 in timed:
            # A person adds the next member seconds later, once the draft is saved: the
            # autosave (300 ms after a change, when the page is idle) would otherwise land
            # in the add timed at the bench's pace. Its own cost is timed apart (autosave).
            page.wait_for_function(SAVED_JS, timeout=10_000)
            saves[n] = page.evaluate(SAVE_TASKS_JS)
        k = len(PARTS)
        adds[n + 1] = timed_click(page, add)
        parts[n + 1] = PARTS[k:]
        page.wait_for_function(
            "([sel, n]) => document.querySelectorAll(sel).length > n", arg=[q["instance"], n]
        )
    out = {"adds": adds, "parts": parts, "saves": saves}
    for key, nth in (("answer10", 9), ("answer_last", upto - 1)):
        box = instances.nth(nth).locator(q["number"]).first
        box.scroll_into_view_if_needed()
        box.focus()
        page.evaluate(SETTLE_JS)
        arm(page, True)
        page.keyboard.type("30")
        m, e = take_marks(page)
        arm(page, False)
        out[key] = (max(m) if m else float("nan"), max(e) if e else 16.0)
    return out


def choice_filter(page, ui: str) -> dict:
    """Keys typed one by one into the first choice filter box ("1", "2", "3", then three
    Backspaces): per key, the time until the matches are painted; and the rows drawn."""
    sel = UI[ui]["search"]
    box = page.locator(f"{sel}:visible").first if sel else None
    if box is None or not box.count():
        return {}
    box.scroll_into_view_if_needed()
    box.focus()
    page.evaluate(SETTLE_JS)
    keys = ["1", "2", "3", "Backspace", "Backspace", "Backspace"]
    marks, timing = [], []
    n0 = len(PARTS)
    for key in keys:
        arm(page, True)
        page.keyboard.press(key)
        m, e = take_marks(page)
        arm(page, False)
        marks.append(max(m) if m else float("nan"))
        timing.append(max(e) if e else 16.0)
    rows = page.evaluate("() => document.querySelectorAll('.choices .choice').length")
    return {"marks": marks, "timing": timing, "rows": rows, "parts": parts_since(n0)}


# The form's language picked in its list, from just before the change event until the
# frame after it is painted (the handler switches the engine's language, a microtask
# redraws every label): [ms to the frame's callbacks, ms to the task after it].
LANGUAGE_JS = """(name) => new Promise((resolve) => {
  const select = document.querySelector('#form-lang');
  const t0 = performance.now();
  select.value = name;
  select.dispatchEvent(new Event('change', { bubbles: true }));
  requestAnimationFrame(() => {
    const raf = performance.now();
    const ch = new MessageChannel();
    ch.port1.onmessage = () => resolve([raf - t0, performance.now() - t0]);
    ch.port2.postMessage(0);
  });
})"""


def language_switch(page, ui: str, switches: int = 6) -> dict:
    """Ours: the form's language switched in its language list (``#form-lang``, on a form
    with two or more languages), to each other language and back, ``switches`` times;
    per switch the ms until painted, and whether the first label read differently after
    it. Web Forms' language menu is not driven (compare with the warm open instead)."""
    if ui != "ours":
        return {}
    names = page.evaluate(
        "() => { const s = document.querySelector('#form-lang');"
        " return s ? [...s.options].map((o) => o.value) : []; }"
    )
    if len(names) < 2:
        return {}
    start = page.evaluate("() => document.querySelector('#form-lang').value")
    others = [n for n in names if n != start]
    label = "() => (document.querySelector('.q:not([hidden]) .label-text') || {}).textContent"
    before = page.evaluate(label)
    marks, parts, changed = [], [], 0
    for i in range(switches):
        name = others[(i // 2) % len(others)] if i % 2 == 0 else start
        page.evaluate(SETTLE_JS)
        raf, post = page.evaluate(LANGUAGE_JS, name)
        marks.append(post)
        parts.append((raf, post - raf))
        after = page.evaluate(label)
        changed += after != before
        before = after
    return {"marks": marks, "parts": parts, "languages": len(names), "changed": changed}


def draft_reopen(page, selector: str, reloads: int = 3) -> dict:
    """Ours: every repeat instance's first text and number boxes answered through the
    UI (the draft is saved by the app as a person's would be), then the draft's URL
    (#/draft/<instanceID>) reloaded: seconds to the first answerable question, each time."""
    inst = page.locator(UI["ours"]["instance"])
    n = inst.count()
    for i in range(n):
        one = inst.nth(i)
        one.locator("input[type=text]:not([inputmode])").first.fill(f"成员{i + 1}")
        one.locator("input[inputmode]").first.fill(str((i * 7) % 90))
    page.wait_for_function(
        "() => location.hash.startsWith('#/draft/')"
        " && document.querySelector('#save-state')?.textContent === '已保存'",
        timeout=120_000,
    )
    times, shown, live = [], [], []
    for _ in range(reloads):
        t0, wall0 = time.perf_counter(), time.time()
        page.reload()
        first_question(page, selector)
        times.append(time.perf_counter() - t0)
        live_form(page, "ours")
        live.append(time.perf_counter() - t0)
        at = page.evaluate(SHOWN_JS)
        shown.append(at - wall0 if at else times[-1])
        network_idle(page)
    return {
        "instances": n,
        "reopen": times,
        "reopen_shown": shown,
        "reopen_live": live,
        "restored": page.locator(UI["ours"]["instance"]).count(),
    }


def measure(
    browser,
    base: str,
    counter: ByteCounter,
    ui: str,
    path: str,
    selector: str,
    inputs: str,
    what: set[str],
    repeat_upto: int,
) -> dict:
    """One cold visit, one repeat visit, then on the warm page the measurements in
    ``what`` (paint, filter, then the old 30 answers; repeat and draft on a reload),
    in a fresh context."""
    context = browser.new_context(
        base_url=base, viewport={"width": 360, "height": 740}, locale="zh-CN"
    )
    context.add_init_script(PAINT_HOOK)
    context.add_init_script(LONG_TASKS)
    context.add_init_script(SEEN_HOOK % json.dumps(selector))
    page = context.new_page()
    if ui == "ours":
        token_page = context.request.get("/login").text()
        token = token_page.split('name="csrf-token" content="')[1].split('"')[0]
        context.request.post(
            "/login", form={"username": "bench", "password": "bench-password", "csrf_token": token}
        )
    cdp = context.new_cdp_session(page)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": 4})
    counter.take()
    t0, wall0 = time.perf_counter(), time.time()
    page.goto(path)
    first_question(page, selector)
    ttfq = time.perf_counter() - t0
    seen_cold = seen(page, wall0)
    network_idle(page)
    time.sleep(0.5)  # let a service worker finish precaching: counted with the first visit
    cold = counter.take()
    t0, wall0 = time.perf_counter(), time.time()
    page.reload()
    first_question(page, selector)
    ttfq_warm = time.perf_counter() - t0
    live_form(page, ui)
    live_warm = time.perf_counter() - t0
    seen_warm = seen(page, wall0)
    marks = page.evaluate(MARKS_JS) if ui == "ours" else {}
    shown = page.evaluate(SHOWN_JS) if ui == "ours" else None
    shown_warm = shown - wall0 if shown else float("nan")
    longest = page.evaluate(LONGEST_JS) if ui == "ours" else None
    network_idle(page)
    warm = counter.take()
    out = {
        "cold": cold, "warm": warm, "ttfq": ttfq, "ttfq_warm": ttfq_warm, "live_warm": live_warm,
        "seen_cold": seen_cold, "seen_warm": seen_warm,
        "shown_warm": shown_warm, "lat": [], "marks": marks,
        "tap_wait": longest if longest is not None else float("nan"),
        # A tap on the first question, at worst: on screen, then waiting for the longest
        # task under way (ours: the engine's, behind the kept first screen; Web Forms'
        # question is live when shown, and is given that moment).
        "tap_by": seen_warm + (longest / 1000 if longest else 0.0),
    }
    if ui == "ours" and path.startswith("/app#/new/"):
        # The next questionnaire of the same form in the same session (a mediator going
        # from household to household): back to the home screen, tap the form. Web Forms'
        # page has no home screen: its every open is a page load, as above.
        page.evaluate("() => { location.hash = '#/'; }")
        link = page.locator(f'a.form-link[href="#/new/{path.rsplit("/", 1)[1]}"]')
        link.wait_for(state="visible")
        page.evaluate(SETTLE_JS)
        page.evaluate("() => performance.clearMarks()")
        t0, wall0 = time.perf_counter(), time.time()
        link.click()
        first_question(page, selector)
        out["ttfq_again"] = time.perf_counter() - t0
        live_form(page, ui)
        out["live_again"] = time.perf_counter() - t0
        shown = page.evaluate(SHOWN_JS)
        out["shown_again"] = shown - wall0 if shown else out["ttfq_again"]
    if "filter" in what:
        out["filter"] = choice_filter(page, ui)
    if "paint" in what:
        out["paint"] = answer_paint(page, ui)
    if "language" in what:
        out["language"] = language_switch(page, ui)
    if "open" in what:
        out["lat"] = page.evaluate(LATENCY_JS, page.locator(inputs).element_handles())
    if "repeat" in what or "draft" in what:
        if ui == "ours":  # a new form, not the draft the answers above made
            page.goto(path)
        page.reload()
        first_question(page, selector)
        live_form(page, ui)
        network_idle(page)
        out["repeat"] = repeat_adds(page, ui, repeat_upto)
        if "draft" in what and ui == "ours" and out["repeat"]:
            out["draft"] = draft_reopen(page, selector)
    context.close()
    return out


def pct(values: list[float], p: float) -> float:
    v = sorted(x for x in values if x == x)
    return v[round(p * (len(v) - 1))] if v else float("nan")


def split(name: str, parts: list[tuple[float, float]]) -> dict:
    """Medians of our mark's split: scripts (input delay, handlers and what they queue:
    our code and the engine's) and the frame's style, layout and paint."""
    if not parts:
        return {}
    return {
        f"{name}_handlers": pct([p[0] for p in parts], 0.5),
        f"{name}_render": pct([p[1] for p in parts], 0.5),
    }


def summarize(runs: list[dict], repeat_upto: int) -> dict:
    lat = sorted(x for r in runs for x in r["lat"])
    med = statistics.median
    nan = float("nan")
    out = {
        "bytes_cold": med(r["cold"]["gzip"] for r in runs),
        "bytes_cold_raw": med(r["cold"]["raw"] for r in runs),
        "code_warm": med(r["warm"]["code_gzip"] for r in runs),
        "code_requests_warm": med(r["warm"]["code_requests"] for r in runs),
        "bytes_warm": med(r["warm"]["gzip"] for r in runs),
        "ttfq": med(r["ttfq"] for r in runs),
        "ttfq_warm": med(r["ttfq_warm"] for r in runs),
        "seen_cold": med(r["seen_cold"] for r in runs),
        "seen_warm": med(r["seen_warm"] for r in runs),
        "ttfq_again": med(r.get("ttfq_again", nan) for r in runs),
        "live_warm": med(r.get("live_warm", nan) for r in runs),
        "shown_warm": med(r.get("shown_warm", nan) for r in runs),
        "tap_wait": med(r.get("tap_wait", nan) for r in runs),
        "tap_by": med(r.get("tap_by", nan) for r in runs),
        "shown_again": med(r.get("shown_again", nan) for r in runs),
        "marks": {
            k: med(r["marks"][k] for r in runs if k in r.get("marks", {}))
            for k in sorted({k for r in runs for k in r.get("marks", {})})
        },
        "live_again": med(r.get("live_again", nan) for r in runs),
        "lat_med": med(lat) if lat else nan,
        "lat_p95": lat[int(0.95 * (len(lat) - 1))] if lat else nan,
        "answers": len(lat) // max(len(runs), 1),
    }
    paint = [r["paint"] for r in runs if r.get("paint", {}).get("marks")]
    if paint:
        marks = [x for p in paint for x in p["marks"]]
        timing = [x for p in paint for x in p["timing"]]
        out |= {
            "paint_med": pct(marks, 0.5),
            "paint_p95": pct(marks, 0.95),
            "paint_et_med": pct(timing, 0.5),
            "paint_et_p95": pct(timing, 0.95),
            "paint_n": len(marks),
            "paint_shown": statistics.mean(x for p in paint for x in p["shown"]),
        }
        out |= split("paint", [x for p in paint for x in p.get("parts", [])])
    flt = [r["filter"] for r in runs if r.get("filter")]
    if flt:
        marks = [x for f in flt for x in f["marks"]]
        timing = [x for f in flt for x in f["timing"]]
        out |= {
            "filter_first": med(f["marks"][0] for f in flt),
            "filter_med": pct(marks, 0.5),
            "filter_max": max(x for x in marks if x == x),
            "filter_et_max": max(timing),
            "filter_rows": flt[0]["rows"],
        }
        out |= split("filter", [x for f in flt for x in f.get("parts", [])])
    lang = [r["language"] for r in runs if r.get("language", {}).get("marks")]
    if lang:
        marks = [x for g in lang for x in g["marks"]]
        out |= {
            "lang_med": pct(marks, 0.5),
            "lang_max": max(marks),
            "lang_languages": lang[0]["languages"],
            "lang_changed": sum(g["changed"] for g in lang) / sum(len(g["marks"]) for g in lang),
        }
        out |= split("lang", [x for g in lang for x in g["parts"]])
    rep = [r["repeat"] for r in runs if r.get("repeat", {}).get("adds")]
    if rep:

        def around(adds: dict, n: int) -> float:
            # the median of the adds making instances n-2 … n+2, of one run
            return pct([adds[k][0] for k in range(n - 2, n + 3) if k in adds], 0.5)

        last = repeat_upto
        out |= {
            "add10": med(around(x["adds"], 10) for x in rep),
            "add_last": med(around(x["adds"], last - 2) for x in rep),
            "add_last1": med(x["adds"][last][0] for x in rep if last in x["adds"]),
            "add10_et": med(x["adds"][10][1] for x in rep if 10 in x["adds"]),
            "add_last_et": med(x["adds"][last][1] for x in rep if last in x["adds"]),
            "ans10": med(x["answer10"][0] for x in rep),
            "ans_last": med(x["answer_last"][0] for x in rep),
        }
        out |= split("add10", [x for r in rep for k in range(8, 13) for x in r["parts"].get(k, [])])
        out |= split(
            "add_last",
            [x for r in rep for k in range(last - 4, last + 1) for x in r["parts"].get(k, [])],
        )
        out["add_ratio"] = out["add_last"] / out["add10"]
        for key, window in (("save10", range(8, 13)), ("save_last", range(last - 4, last + 1))):
            tasks = [t for x in rep for n in window if (t := x.get("saves", {}).get(n - 1))]
            if tasks:
                out[key] = pct([sum(t) for t in tasks], 0.5)
                out[key + "_task"] = pct([max(t) for t in tasks], 0.5)
        out["ans_ratio"] = out["ans_last"] / out["ans10"]
    drafts = [r["draft"] for r in runs if r.get("draft")]
    if drafts:
        out |= {
            "draft_reopen": med(t for d in drafts for t in d["reopen"]),
            "draft_reopen_first": med(d["reopen"][0] for d in drafts),
            "draft_reopen_shown": med(t for d in drafts for t in d.get("reopen_shown", [])),
            "draft_reopen_live": med(t for d in drafts for t in d.get("reopen_live", [])),
            "draft_instances": drafts[0]["instances"],
            "draft_restored": drafts[0]["restored"],
        }
    return out


MEASURES = ("open", "paint", "filter", "language", "repeat", "draft")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--form",
        default="bench400",
        help="bench400, bench200, bench200x2 (bench200 in Chinese and English), big5000, "
        "roster150 or an XLSForm file",
    )
    parser.add_argument("--media", help="a folder of the form's media files")
    parser.add_argument("--ours-path", help="default /app#/new/<form_id>")
    parser.add_argument(
        "--measure",
        default="all",
        help="comma-separated: open (bytes, first question, input latency; always timed), "
        "paint, filter, language, repeat, draft; or all",
    )
    parser.add_argument(
        "--repeat-upto", type=int, default=150, help="repeat instances to add (default 150)"
    )
    parser.add_argument("--only", choices=["ours", "webforms"], help="one UI only")
    args = parser.parse_args()
    what = set(MEASURES) if args.measure == "all" else set(args.measure.split(","))
    with tempfile.TemporaryDirectory(prefix="fieldapp-bench-") as tmp:
        counter, form_id = prepare(Path(tmp), args.form, args.media)
        ours_path = args.ours_path or f"/app#/new/{quote(form_id, safe='')}"
        server = make_server("127.0.0.1", 0, counter, threaded=True, request_handler=Quiet)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_port}"
        uis = {
            "ours": (
                ours_path,
                ".q:not([hidden]) input:not([hidden])",
                ".q input[type=text], .q input[inputmode]",
            ),
            "webforms": (
                "/bench/index.html?form=/bench/form.xml&media=/bench/media/",
                ".question-container input",
                ".question-container input[type=text], .question-container input[inputmode]",
            ),
        }
        if args.only:
            uis = {args.only: uis[args.only]}
        results = {}
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            for name, (path, sel, inputs) in uis.items():
                results[name] = summarize(
                    [
                        measure(
                            browser, base, counter, name, path, sel, inputs, what, args.repeat_upto
                        )
                        for _ in range(args.runs)
                    ],
                    args.repeat_upto,
                )
            browser.close()
        server.shutdown()
    nan = float("nan")
    ours, ref = results.get("ours", {}), results.get("webforms", {})
    if ours.get("marks"):
        marks = sorted(ours["marks"].items(), key=lambda kv: kv[1])
        print("fieldapp's warm open, ms from navigation (median):", ", ".join(f"{k} {v:.0f}" for k, v in marks))
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else []
    print(
        f"form {args.form}, 360×740, 4× CPU throttling, median of {args.runs} runs"
        f" (load average now {' '.join(load)})"
    )
    print(f"{'':40}{'fieldapp':>12}{'Web Forms':>12}{'ratio':>8}  target")
    n = args.repeat_upto
    rows = [
        ("first visit, bytes (gzip)", "bytes_cold", "≤ 0.33"),
        ("first visit, bytes (raw)", "bytes_cold_raw", ""),
        ("repeat visit, bytes (gzip)", "bytes_warm", ""),
        ("repeat visit, code bytes (gzip)", "code_warm", "fieldapp = 0"),
        ("repeat visit, code requests", "code_requests_warm", "(304s count)"),
        ("time to first question (s)", "ttfq", "≤ 0.5"),
        ("  first frame showing it (s)", "seen_cold", "(both: SEEN_HOOK)"),
        (
            "warm open, first question on screen (s)",
            "seen_warm",
            "≤ 1 (200 q.), 2 (5,000 ch.); ≤ 0.5",
        ),
        ("  by our own mark (s)", "shown_warm", ""),
        ("  main thread free to answer it (s)", "ttfq_warm", ""),
        ("  the real form in its place (s)", "live_warm", "(ours: after the kept first screen)"),
        ("  a tap on it waits at most (ms)", "tap_wait", "(longest task meanwhile)"),
        ("  a tap on it handled by, at worst (s)", "tap_by", "≤ 0.5 (on screen + that wait)"),
        ("same form again from home, on screen (s)", "shown_again", "(no page load)"),
        ("  main thread free to answer it (s)", "ttfq_again", ""),
        ("  the real form in its place (s)", "live_again", ""),
        ("input latency, median (ms)", "lat_med", ""),
        ("input latency, p95 (ms)", "lat_p95", ""),
        ("answer → painted, median (ms)", "paint_med", "≤ 100"),
        ("    of which scripts (ms)", "paint_handlers", ""),
        ("    of which style, layout, paint", "paint_render", ""),
        ("answer → painted, p95 (ms)", "paint_p95", "≤ 100"),
        ("  Event Timing, median (ms)", "paint_et_med", "≤ 100"),
        ("  Event Timing, p95 (ms)", "paint_et_p95", "≤ 100"),
        ("  questions shown per answer", "paint_shown", ""),
        ("filter 5,000: first key (ms)", "filter_first", "≤ 200"),
        ("filter: median key (ms)", "filter_med", "≤ 200"),
        ("    of which scripts (ms)", "filter_handlers", ""),
        ("    of which style, layout, paint", "filter_render", ""),
        ("filter: slowest key (ms)", "filter_max", "≤ 200"),
        ("  Event Timing, slowest (ms)", "filter_et_max", "≤ 200"),
        ("  choice rows drawn", "filter_rows", ""),
        ("language switch → painted, median (ms)", "lang_med", "≤ warm open"),
        ("    of which scripts (ms)", "lang_handlers", ""),
        ("    of which style, layout, paint", "lang_render", ""),
        ("  slowest (ms)", "lang_max", "≤ warm open"),
        ("  share of switches that changed a label", "lang_changed", "1.000"),
        ("add 10th instance (ms, 8th–12th)", "add10", ""),
        (f"add {n}th instance (ms, {n - 4}th–{n}th)", "add_last", "≤ 1.5× 10th"),
        (f"  ratio {n}th / 10th", "add_ratio", "≤ 1.5"),
        (f"  the {n}th alone (ms)", "add_last1", ""),
        ("  Event Timing, 10th (ms)", "add10_et", ""),
        (f"  Event Timing, {n}th (ms)", "add_last_et", ""),
        ("    10th: scripts (ms)", "add10_handlers", ""),
        ("    10th: style, layout, paint (ms)", "add10_render", ""),
        (f"    {n}th: scripts (ms)", "add_last_handlers", ""),
        (f"    {n}th: style, layout, paint (ms)", "add_last_render", ""),
        ("autosave after the 10th add, all (ms)", "save10", ""),
        ("  its longest task (ms)", "save10_task", ""),
        (f"autosave after the {n}th add, all (ms)", "save_last", ""),
        ("  its longest task (ms)", "save_last_task", "(a tap waits at most this)"),
        ("answer in 10th instance (ms)", "ans10", ""),
        (f"answer in {n}th instance (ms)", "ans_last", ""),
        (f"  ratio {n}th / 10th", "ans_ratio", "≤ 1.5"),
        (f"draft of {n} reopens, warm (s)", "draft_reopen", "≤ 3"),
        ("  first reload of it (s)", "draft_reopen_first", ""),
        ("  on screen (its kept first screen) (s)", "draft_reopen_shown", ""),
        ("  the real form in its place (s)", "draft_reopen_live", ""),
        ("  instances saved / restored", "draft_instances", ""),
    ]
    for label, key, target in rows:
        if key not in ours and key not in ref:
            continue
        a, b = ours.get(key, nan), ref.get(key, nan)
        ratio = f"{a / b:.2f}" if b == b and a == a and b and "ratio" not in label else "-"
        whole = "bytes" in label or "requests" in label or "rows" in label
        if key == "draft_instances":
            both = f"{a:.0f} / {ours.get('draft_restored', nan):.0f}"
            print(f"{label:40}{both:>12}")
            continue
        a_s, b_s = (
            "-" if v != v else f"{v:,.0f}" if whole or v >= 100 else f"{v:.3f}" for v in (a, b)
        )
        print(f"{label:40}{a_s:>12}{b_s:>12}{ratio:>8}  {target}")
    print(
        f"answers timed per run: fieldapp {ours.get('answers', 0)}, Web Forms"
        f" {ref.get('answers', 0)}; painted answers: {ours.get('paint_n', 0)},"
        f" {ref.get('paint_n', 0)} (Event Timing: an input with no event over 16 ms counts 16)"
    )


if __name__ == "__main__":
    main()
