"""Where the form engine's ``createInstance`` spends its time, on the big forms.

The engine alone (``@getodk/xforms-engine`` from our node_modules, with the patches we
carry, called as our app calls it: bench/engine_entry.js), bundled unminified, in
headless Chromium with 4× CPU throttling. Forms: the generated 400-question bench form
and 200-question household survey (bench/make_form.py), the real forms in
../shared/forms/ converted with our pyxform, a form with a 5,000-choice list and a form
whose repeat is reopened as a draft of 150 instances (``restoreInstance``). For each, in
``--runs`` fresh pages: the first call (what a phone pays on every open: a reload starts
the JIT over) and 2 more (warm), as wall time (median and best) and as main-thread CPU
time (what to compare builds by when other work shares the machine); then a CPU profile
(Chrome DevTools Profiler, 100 µs sampling) of another first call, printing the
functions with most self time and their share, self time by package, and the engine's
phases (inclusive time).

Usage: .venv/bin/python bench/engine_profile.py [--top 15] [--forms bench400,big5000]
       [--runs 3] [--no-profile] [--json out.json] [--save DIR] [--engine OTHER/index.js]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
from collections import defaultdict
from pathlib import Path

import openpyxl
from playwright.sync_api import sync_playwright
from werkzeug.middleware.shared_data import SharedDataMiddleware
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Response

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
FORMS = ROOT.parent / "shared" / "forms"
sys.path.insert(0, str(ROOT))

from bench.make_form import build as build_bench_form  # noqa: E402
from bench.make_form import build_household  # noqa: E402

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--lang=zh-CN"]
PAGE = """<!doctype html><meta charset="utf-8"><title>engine</title>
<script type="module" src="/engine.js"></script>"""


class Quiet(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass


def write_xlsx(path: Path, survey: list[list], choices: list[list], form_id: str) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "survey"
    for row in survey:
        ws.append(row)
    ch = wb.create_sheet("choices")
    for row in choices:
        ch.append(row)
    st = wb.create_sheet("settings")
    st.append(["form_id", "version"])
    st.append([form_id, "1"])
    wb.save(path)
    return path


def big_choices_form(path: Path) -> Path:
    """A 5,000-village select_one among 20 other questions (as tests/e2e's long list)."""
    survey = [["type", "name", "label", "relevant"]]
    survey.append(["select_one village", "village", "村/社区", ""])
    for q in range(1, 21):
        kind = ("text", "integer", "select_one yesno", "decimal")[q % 4]
        survey.append([kind, f"q{q}", f"问题 {q}", "${village} != ''" if q > 1 else ""])
    choices = [["list_name", "name", "label"], ["yesno", "yes", "是"], ["yesno", "no", "否"]]
    choices += [["village", f"v{n:04d}", f"第{n}村"] for n in range(5000)]
    return write_xlsx(path, survey, choices, "big5000")


def repeat_form(path: Path) -> Path:
    """A household roster: a repeat of 10 questions with relevance and calculations."""
    survey = [["type", "name", "label", "relevant", "calculation", "constraint"]]
    survey.append(["text", "head", "户主姓名", "", "", ""])
    survey.append(["begin_repeat", "members", "家庭成员", "", "", ""])
    survey += [
        ["text", "m_name", "姓名", "", "", ""],
        ["integer", "m_age", "年龄", "", "", ". >= 0 and . <= 120"],
        ["select_one sex", "m_sex", "性别", "", "", ""],
        ["calculate", "m_minor", "", "", "if(${m_age} < 18, 1, 0)", ""],
        ["select_one yesno", "m_school", "在上学吗", "${m_age} < 25", "", ""],
        ["text", "m_school_name", "学校", "${m_school} = 'yes'", "", ""],
        ["select_one yesno", "m_work", "有工作吗", "${m_age} >= 16", "", ""],
        ["text", "m_job", "工作", "${m_work} = 'yes'", "", ""],
        ["decimal", "m_income", "月收入", "${m_work} = 'yes'", "", ". >= 0"],
        ["note", "m_note", "第 ${m_name} 位", "", "", ""],
    ]
    survey.append(["end_repeat", "", "", "", "", ""])
    survey.append(["calculate", "minors", "", "", "sum(${m_minor})", ""])
    survey.append(["calculate", "n", "", "", "count(${m_name})", ""])
    choices = [
        ["list_name", "name", "label"],
        ["yesno", "yes", "是"],
        ["yesno", "no", "否"],
        ["sex", "m", "男"],
        ["sex", "f", "女"],
    ]
    return write_xlsx(path, survey, choices, "roster150")


def prepare(tmp: Path, engine: str | None = None) -> list[dict]:
    """XForms of every form to profile: {name, xform, media, draft_of}."""
    from fieldapp.surveys.services import XLSFormError, convert_xlsform

    sources = [("bench400", build_bench_form(tmp / "bench400.xlsx"))]
    sources += [("bench200", build_household(tmp / "bench200.xlsx"))]
    sources += [(p.stem, p) for p in sorted(FORMS.glob("*.xlsx"))]
    sources += [("big5000", big_choices_form(tmp / "big5000.xlsx"))]
    sources += [("roster150", repeat_form(tmp / "roster150.xlsx"))]
    forms = []
    for name, path in sources:
        try:
            xform, _schema, _notes = convert_xlsform(path.read_bytes(), path.name)
        except XLSFormError as exc:  # what the app refuses cannot be opened on a phone
            print(f"{name}: skipped, the app refuses it: {exc}")
            continue
        forms.append({"name": name, "xform": xform, "draft": 0})
    forms.append({"name": "roster150-draft", "xform": forms[-1]["xform"], "draft": 150})
    site = tmp / "site"
    (site / "forms").mkdir(parents=True)
    (site / "index.html").write_text(PAGE, encoding="utf-8")
    for f in forms:
        (site / "forms" / f"{f['name']}.xml").write_text(f["xform"], encoding="utf-8")
    bundle_engine(site, engine)
    return forms, site


def bundle_engine(
    site: Path, engine: str | None = None, entry: str = "engine_entry.js", out: str = "engine.js"
) -> None:
    """bench/``entry`` (default engine_entry.js) bundled unminified into site/``out``, with
    our engine or ``engine`` (another build of its dist/index.js)."""
    subprocess.run(
        [
            "npx",
            "esbuild",
            str(BENCH / entry),
            "--bundle",
            "--format=esm",
            "--target=chrome89",
            f"--outfile={site / out}",
            "--log-level=error",
            *([f"--alias:@getodk/xforms-engine={Path(engine).resolve()}"] if engine else []),
        ],
        cwd=ROOT,
        check=True,
        # an --engine file outside the tree still finds the engine's own dependencies
        env={**os.environ, "NODE_PATH": str(ROOT / "node_modules")},
    )


def bundle_modules(site: Path) -> list[tuple[int, str]]:
    """(first line, module path) of each module esbuild put into engine.js (0-based)."""
    out = []
    for i, line in enumerate((site / "engine.js").read_text(encoding="utf-8").splitlines()):
        if line.startswith("// ") and ("/" in line) and line.rstrip().endswith((".js", ".mjs")):
            out.append((i, line[3:].strip()))
    return out


def module_of(modules: list[tuple[int, str]], line: int) -> str:
    name = "?"
    for start, path in modules:
        if start > line:
            break
        name = path
    name = name.replace("node_modules/", "")
    return name.split("/dist/")[0] if "/dist/" in name else name


def aggregate(profile: dict, modules) -> dict:
    """Self and inclusive time (ms) by function, and self time by package."""
    nodes = {n["id"]: n for n in profile["nodes"]}
    parent = {}
    for n in profile["nodes"]:
        for c in n.get("children", []):
            parent[c] = n["id"]

    def key(node) -> tuple[str, str]:
        cf = node["callFrame"]
        name = cf["functionName"] or "(anonymous)"
        if cf["url"].endswith("/engine.js"):
            where = f"{module_of(modules, cf['lineNumber'])}:{cf['lineNumber'] + 1}"
        else:
            where = cf["url"].rsplit("/", 1)[-1] or "(native)"
        return name, where

    self_ms: dict = defaultdict(float)
    incl_ms: dict = defaultdict(float)
    pkg_ms: dict = defaultdict(float)
    total = 0.0
    for sample, delta in zip(profile["samples"], profile["timeDeltas"], strict=True):
        ms = delta / 1000
        node = nodes[sample]
        k = key(node)
        if k[0] in ("(idle)", "(program)"):
            continue
        total += ms
        self_ms[k] += ms
        pkg_ms[k[1].split(":")[0]] += ms
        seen = set()
        nid = sample
        while nid is not None:
            kk = key(nodes[nid])
            if kk not in seen:
                seen.add(kk)
                incl_ms[kk] += ms
            nid = parent.get(nid)
    return {"total": total, "self": self_ms, "incl": incl_ms, "pkg": pkg_ms}


def thread_time(cdp) -> float:
    """The page's main-thread CPU time so far (s), as Chrome counts it."""
    metrics = cdp.send("Performance.getMetrics")["metrics"]
    return next(m["value"] for m in metrics if m["name"] == "ThreadTime")


def run(page, cdp, form: dict) -> tuple[float, float]:
    """One call of the engine in the page: (wall ms at 4× throttling, main-thread CPU ms).
    The CPU time counts only this page's own work, so other programs running on the
    machine do not change it: compare builds by it when the machine is busy."""
    media = "/media/"
    if form["draft"]:
        draft = page.evaluate(
            "([x, m, n]) => engine.draft(x, m, n)",
            [form["xform"], media, form["draft"]],
        )
        cpu0 = thread_time(cdp)
        ms = page.evaluate(
            "async ([x, d, m]) => (await engine.restore(x, d, m)).ms", [form["xform"], draft, media]
        )
    else:
        cpu0 = thread_time(cdp)
        ms = page.evaluate("async ([x, m]) => (await engine.open(x, m)).ms", [form["xform"], media])
    return ms, (thread_time(cdp) - cpu0) * 1000


def fresh_page(browser, base: str):
    context = browser.new_context(base_url=base)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": 4})
    cdp.send("Performance.enable", {"timeDomain": "threadTicks"})
    page.goto("/index.html")
    page.wait_for_function("window.engine !== undefined")
    return context, page, cdp


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--forms", default="", help="comma-separated names (default: all)")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--runs", type=int, default=3, help="fresh pages timed per form")
    parser.add_argument(
        "--engine", help="another build of the engine's dist/index.js (e.g. unpatched), to compare"
    )
    parser.add_argument("--json", help="write the figures here")
    parser.add_argument(
        "--save", help="folder for the raw profiles (<form>.cpuprofile, opens in DevTools)"
    )
    args = parser.parse_args()
    wanted = {f for f in args.forms.split(",") if f}
    report = {}
    with tempfile.TemporaryDirectory(prefix="fieldapp-engine-") as tmp:
        forms, site = prepare(Path(tmp), args.engine)
        forms = [f for f in forms if not wanted or f["name"] in wanted]
        modules = bundle_modules(site)
        app = SharedDataMiddleware(
            lambda env, start: Response("not found", status=404)(env, start),
            {"/": str(site)},
        )
        server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=Quiet)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_port}"
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            print(
                f"engine alone, 4× CPU throttling, median and best of {args.runs} fresh pages:"
                " the first call (a phone's open), then 2 more in the same page (JIT warm);"
                " best is the figure least disturbed by other work on the machine; CPU: the"
                " median main-thread CPU time as Chrome counts it, which that work disturbs less"
            )
            print(
                f"{'form':24}{'first (s)':>10}{'best':>7}{'warm (s)':>10}{'best':>7}"
                f"{'CPU first':>11}{'CPU warm':>10}"
            )
            for form in forms:
                firsts, warms, cpu_firsts, cpu_warms = [], [], [], []
                for _ in range(args.runs):
                    context, page, cdp = fresh_page(browser, base)
                    ms, cpu = run(page, cdp, form)
                    firsts.append(ms / 1000)
                    cpu_firsts.append(cpu / 1000)
                    for _ in range(2):
                        ms, cpu = run(page, cdp, form)
                        warms.append(ms / 1000)
                        cpu_warms.append(cpu / 1000)
                    context.close()
                med = statistics.median
                report[form["name"]] = {
                    "first_s": med(firsts),
                    "first_best_s": min(firsts),
                    "warm_s": med(warms),
                    "warm_best_s": min(warms),
                    "cpu_first_s": med(cpu_firsts),
                    "cpu_warm_s": med(cpu_warms),
                }
                print(
                    f"{form['name']:24}{med(firsts):>10.2f}{min(firsts):>7.2f}"
                    f"{med(warms):>10.2f}{min(warms):>7.2f}"
                    f"{med(cpu_firsts):>11.2f}{med(cpu_warms):>10.2f}",
                    flush=True,
                )
            if not args.no_profile:
                for form in forms:
                    context, page, cdp = fresh_page(browser, base)
                    if form["draft"]:  # the draft itself is made outside the profile
                        form = {
                            **form,
                            "draft_xml": page.evaluate(
                                "([x, m, n]) => engine.draft(x, m, n)",
                                [form["xform"], "/media/", form["draft"]],
                            ),
                        }
                    cdp.send("Profiler.enable")
                    cdp.send("Profiler.setSamplingInterval", {"interval": 100})
                    cdp.send("Profiler.start")
                    if form["draft"]:
                        page.evaluate(
                            "async ([x, d, m]) => (await engine.restore(x, d, m)).ms",
                            [form["xform"], form["draft_xml"], "/media/"],
                        )
                    else:
                        page.evaluate(
                            "async ([x, m]) => (await engine.open(x, m)).ms",
                            [form["xform"], "/media/"],
                        )
                    profile = cdp.send("Profiler.stop")["profile"]
                    context.close()
                    if args.save:
                        Path(args.save).mkdir(parents=True, exist_ok=True)
                        out = Path(args.save) / f"{form['name']}.cpuprofile"
                        out.write_text(json.dumps(profile))
                        bundle = (site / "engine.js").read_bytes()
                        (Path(args.save) / "engine.js").write_bytes(bundle)
                    agg = aggregate(profile, modules)
                    print_profile(form["name"], agg, args.top)
                    report[form["name"]]["profile"] = {
                        "total_ms": agg["total"],
                        "self": top(agg["self"], args.top),
                        "inclusive": top(agg["incl"], args.top),
                        "packages": top(agg["pkg"], 10),
                    }
            browser.close()
        server.shutdown()
    if args.json:
        Path(args.json).write_text(json.dumps(report, ensure_ascii=False, indent=1))


def top(d: dict, n: int) -> list:
    return [
        [" ".join(k) if isinstance(k, tuple) else k, round(v, 1)]
        for k, v in sorted(d.items(), key=lambda kv: -kv[1])[:n]
    ]


def print_profile(name: str, agg: dict, n: int) -> None:
    total = agg["total"] or 1
    print(f"\n== {name}: {total / 1000:.2f} s of samples (profiled, so slower)")
    print(
        "  self time by package: "
        + ", ".join(
            f"{k} {v / total:.0%}" for k, v in sorted(agg["pkg"].items(), key=lambda kv: -kv[1])[:5]
        )
    )
    print(f"  {'self':>6} {'share':>6}  function (module:line)")
    for (fn, where), ms in sorted(agg["self"].items(), key=lambda kv: -kv[1])[:n]:
        print(f"  {ms:6.0f} {ms / total:6.1%}  {fn} ({where})")
    print(f"  {'incl':>6} {'share':>6}  inclusive (engine phases)")
    engine = [(k, v) for k, v in agg["incl"].items() if "xforms-engine" in k[1]]
    for (fn, where), ms in sorted(engine, key=lambda kv: -kv[1])[: n + 5]:
        print(f"  {ms:6.0f} {ms / total:6.1%}  {fn} ({where})")


if __name__ == "__main__":
    main()
