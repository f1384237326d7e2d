"""Phone-side performance of fieldapp's form filler against ODK Web Forms, in one run.

On a generated 400-question form (bench/make_form.py; ``--form`` for another: an XLSForm
such as ../shared/forms/ramOP.xlsx, or the stress forms of bench/engine_profile.py,
``big5000`` and ``roster150``), in headless Chromium at 360×740 with 4× CPU throttling,
for our UI and for ODK's reference UI (@getodk/web-forms, built from bench/package.json;
form attachments, ``--media DIR``, reach both from the form's media folder, as our app
serves them):

- bytes sent by the server on a first visit (cold cache) and on a repeat visit, in all
  and for code (JS/CSS) alone, counted at the server (so service-worker fetches count),
  raw and gzip-compressed;
- time from navigation to the first answerable question;
- input latency per answer (typing into a box until two animation frames later),
  median and p95 over 30 answers.

Targets (issue 3): first visit at most 1/3 of Web Forms' bytes, first question in at
most 1/2 of its time, a repeat visit with zero network bytes for code.

Usage: .venv/bin/python bench/phone.py [--runs 3] [--form bench400|big5000|roster150|X.xlsx]
       [--media DIR] [--ours-path "/app#/new/<form_id>"]
(``--ours-path /surveys/bench400/fill`` measures the online page instead of the app.)
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from playwright.sync_api import sync_playwright
from werkzeug.middleware.shared_data import SharedDataMiddleware
from werkzeug.serving import WSGIRequestHandler, make_server

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
sys.path.insert(0, str(ROOT))

from bench.make_form import build as build_form  # noqa: E402

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

    generated = {"bench400": build_form, "big5000": big_choices_form, "roster150": repeat_form}
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


def first_question(page, selector: str, timeout=60_000) -> None:
    page.wait_for_selector(selector, state="visible", timeout=timeout)


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


def measure(
    browser, base: str, counter: ByteCounter, ui: str, path: str, selector: str, inputs: str
) -> dict:
    """One cold visit, one repeat visit and 30 answers in a fresh context."""
    context = browser.new_context(
        base_url=base, viewport={"width": 360, "height": 740}, locale="zh-CN"
    )
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
    t0 = time.perf_counter()
    page.goto(path)
    first_question(page, selector)
    ttfq = time.perf_counter() - t0
    page.wait_for_load_state("networkidle")
    time.sleep(0.5)  # let a service worker finish precaching: counted with the first visit
    cold = counter.take()
    t0 = time.perf_counter()
    page.reload()
    first_question(page, selector)
    ttfq_warm = time.perf_counter() - t0
    page.wait_for_load_state("networkidle")
    warm = counter.take()
    lat = page.evaluate(LATENCY_JS, page.locator(inputs).element_handles())
    context.close()
    return {"cold": cold, "warm": warm, "ttfq": ttfq, "ttfq_warm": ttfq_warm, "lat": lat}


def summarize(runs: list[dict]) -> dict:
    lat = sorted(x for r in runs for x in r["lat"])
    med = statistics.median
    return {
        "bytes_cold": med(r["cold"]["gzip"] for r in runs),
        "bytes_cold_raw": med(r["cold"]["raw"] for r in runs),
        "code_warm": med(r["warm"]["code_gzip"] for r in runs),
        "code_requests_warm": med(r["warm"]["code_requests"] for r in runs),
        "bytes_warm": med(r["warm"]["gzip"] for r in runs),
        "ttfq": med(r["ttfq"] for r in runs),
        "ttfq_warm": med(r["ttfq_warm"] for r in runs),
        "lat_med": med(lat) if lat else float("nan"),
        "lat_p95": lat[int(0.95 * (len(lat) - 1))] if lat else float("nan"),
        "answers": len(lat) // max(len(runs), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--form", default="bench400", help="bench400, big5000, roster150 or an XLSForm file"
    )
    parser.add_argument("--media", help="a folder of the form's media files")
    parser.add_argument("--ours-path", help="default /app#/new/<form_id>")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fieldapp-bench-") as tmp:
        counter, form_id = prepare(Path(tmp), args.form, args.media)
        ours_path = args.ours_path or f"/app#/new/{form_id}"
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
        results = {}
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            for name, (path, sel, inputs) in uis.items():
                results[name] = summarize(
                    [
                        measure(browser, base, counter, name, path, sel, inputs)
                        for _ in range(args.runs)
                    ]
                )
            browser.close()
        server.shutdown()
    ours, ref = results["ours"], results["webforms"]
    print(f"form {args.form}, 360×740, 4× CPU throttling, median of {args.runs} runs")
    print(f"{'':34}{'fieldapp':>14}{'Web Forms':>14}{'ratio':>9}  target")
    rows = [
        ("first visit, bytes (gzip)", "bytes_cold", "≤ 0.33"),
        ("first visit, bytes (raw)", "bytes_cold_raw", ""),
        ("repeat visit, bytes (gzip)", "bytes_warm", ""),
        ("repeat visit, code bytes (gzip)", "code_warm", "fieldapp = 0"),
        ("repeat visit, code requests", "code_requests_warm", "(304s count)"),
        ("time to first question (s)", "ttfq", "≤ 0.5"),
        ("repeat visit, first question (s)", "ttfq_warm", ""),
        ("input latency, median (ms)", "lat_med", ""),
        ("input latency, p95 (ms)", "lat_p95", ""),
    ]
    for label, key, target in rows:
        a, b = ours[key], ref[key]
        ratio = f"{a / b:.2f}" if b else "-"
        whole = "bytes" in label or "requests" in label
        fmt = (lambda v: f"{v:,.0f}") if whole else (lambda v: f"{v:.3f}")
        print(f"{label:34}{fmt(a):>14}{fmt(b):>14}{ratio:>9}  {target}")
    print(f"answers timed per run: fieldapp {ours['answers']}, Web Forms {ref['answers']}")


if __name__ == "__main__":
    main()
