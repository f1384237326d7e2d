"""What adding a repeat instance costs in the form engine alone, early and late.

Issue 12: the 150th repeat instance must cost at most 1.5× the 10th. The engine alone
(bench/engine_entry.js, as our app calls it, with the patches we carry), in headless
Chromium with 4× CPU throttling: a fresh page opens the form, then instances are added
one at a time to its first repeat (``addInstances()`` and the microtasks it queues) up
to ``--upto``; printed: per window of adds (default 6–15 and 141–150) the median wall
time and the main-thread CPU time per add, and the draft's serialization (what the
autosave does after a change) at the window's end; then, unless ``--no-profile``, a CPU
profile (Chrome DevTools Profiler) of each window: the functions with most self time and
the engine's inclusive times, per add.

Usage: .venv/bin/python bench/engine_repeat.py [--forms roster150,bench200] [--runs 3]
       [--windows 6-15,141-150] [--upto 150] [--no-profile] [--engine OTHER/index.js]
       [--save DIR]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
from pathlib import Path

from playwright.sync_api import sync_playwright
from werkzeug.middleware.shared_data import SharedDataMiddleware
from werkzeug.serving import make_server
from werkzeug.wrappers import Response

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.engine_profile import (  # noqa: E402
    ARGS,
    PAGE,
    Quiet,
    aggregate,
    bundle_engine,
    bundle_modules,
    fresh_page,
    repeat_form,
    thread_time,
)
from bench.make_form import build_household  # noqa: E402

BUILDERS = {"roster150": repeat_form, "bench200": build_household}


def prepare(tmp: Path, names: list[str], engine: str | None) -> tuple[dict, Path]:
    from fieldapp.surveys.services import convert_xlsform

    site = tmp / "site"
    (site / "forms").mkdir(parents=True)
    (site / "index.html").write_text(PAGE, encoding="utf-8")
    forms = {}
    for name in names:
        path = BUILDERS[name](tmp / f"{name}.xlsx")
        forms[name] = convert_xlsform(path.read_bytes(), path.name)[0]
    bundle_engine(site, engine)
    return forms, site


def adds(page, cdp, upto: int, windows: list[tuple[int, int]], profile: bool) -> dict:
    """Instances added up to ``upto``; per window {(a, b): {wall, cpu, xml, profile}}."""
    out = {}
    n = page.evaluate("() => repeat.range.currentState.children.length")
    while n < upto:
        win = next(((a, b) for a, b in windows if a == n + 1), None)
        if win is None:
            page.evaluate("() => repeat.add()")
            n += 1
            continue
        a, b = win
        if profile:
            cdp.send("Profiler.enable")
            cdp.send("Profiler.setSamplingInterval", {"interval": 100})
            cdp.send("Profiler.start")
        walls, cpus = [], []
        for _ in range(a, b + 1):
            cpu0 = thread_time(cdp)
            walls.append(page.evaluate("() => repeat.add()"))
            cpus.append((thread_time(cdp) - cpu0) * 1000)
            n += 1
        prof = cdp.send("Profiler.stop")["profile"] if profile else None
        xml_ms, xml_len = page.evaluate("() => repeat.xml()")
        out[win] = {"wall": walls, "cpu": cpus, "xml": xml_ms, "xml_len": xml_len, "profile": prof}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--forms", default="roster150,bench200")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--windows", default="6-15,141-150")
    parser.add_argument("--upto", type=int, default=150)
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--engine", help="another build of the engine's dist/index.js")
    parser.add_argument("--save", help="folder for the raw profiles (<form>-<a>-<b>.cpuprofile)")
    args = parser.parse_args()
    windows = [tuple(int(x) for x in w.split("-")) for w in args.windows.split(",")]
    with tempfile.TemporaryDirectory(prefix="fieldapp-repeat-") as tmp:
        forms, site = prepare(Path(tmp), args.forms.split(","), args.engine)
        modules = bundle_modules(site)
        app = SharedDataMiddleware(
            lambda env, start: Response("not found", status=404)(env, start), {"/": str(site)}
        )
        server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=Quiet)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_port}"
        print(
            f"engine alone, 4× CPU throttling, {args.runs} fresh pages per form; per add:"
            " median wall ms and main-thread CPU ms over the window (all runs); the draft's"
            " serialization (instanceXML) at the window's end, median ms"
        )
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            for name, xform in forms.items():
                per = {w: {"wall": [], "cpu": [], "xml": []} for w in windows}
                for _ in range(args.runs):
                    context, page, cdp = fresh_page(browser, base)
                    page.evaluate("([x, m]) => repeat.open(x, m)", [xform, "/media/"])
                    for w, r in adds(page, cdp, args.upto, windows, False).items():
                        for k in ("wall", "cpu"):
                            per[w][k] += r[k]
                        per[w]["xml"].append(r["xml"])
                    context.close()
                med = statistics.median
                first = None
                for w in windows:
                    cpu = med(per[w]["cpu"])
                    first = first or cpu
                    print(
                        f"{name:10} adds {w[0]:>3}–{w[1]:<3} wall {med(per[w]['wall']):7.1f} ms"
                        f"  CPU {cpu:7.1f} ms ({cpu / first:.2f}× the first window)"
                        f"  instanceXML {med(per[w]['xml']):6.1f} ms",
                        flush=True,
                    )
                if args.no_profile:
                    continue
                context, page, cdp = fresh_page(browser, base)
                page.evaluate("([x, m]) => repeat.open(x, m)", [xform, "/media/"])
                for w, r in adds(page, cdp, args.upto, windows, True).items():
                    if args.save:
                        out = Path(args.save)
                        out.mkdir(parents=True, exist_ok=True)
                        prof = json.dumps(r["profile"])
                        (out / f"{name}-{w[0]}-{w[1]}.cpuprofile").write_text(prof)
                        (out / "engine.js").write_bytes((site / "engine.js").read_bytes())
                    print_window(name, w, aggregate(r["profile"], modules), args.top)
                context.close()
            browser.close()
        server.shutdown()


def print_window(name: str, w: tuple[int, int], agg: dict, n: int) -> None:
    k = w[1] - w[0] + 1
    print(f"\n== {name}, adds {w[0]}–{w[1]}: {agg['total'] / k:.1f} ms of samples per add")
    print(f"  {'self/add':>8}  function (module:line)")
    for (fn, where), ms in sorted(agg["self"].items(), key=lambda kv: -kv[1])[:n]:
        print(f"  {ms / k:8.2f}  {fn} ({where})")
    print(f"  {'incl/add':>8}  inclusive, engine")
    engine = [(kk, v) for kk, v in agg["incl"].items() if "xforms-engine" in kk[1]]
    for (fn, where), ms in sorted(engine, key=lambda kv: -kv[1])[: n + 8]:
        print(f"  {ms / k:8.2f}  {fn} ({where})")


if __name__ == "__main__":
    main()
