"""Does a build of the form engine give the same results as ours? (a check for patches)

Opens every form of ``bench/engine_profile.py`` (the bench forms, the real forms in
../shared/forms/, big5000, roster150) and a generated form with translated choices (an
image choice, a ``choice_filter`` cascade, a translated choice label with ``${name}``)
with two builds of ``@getodk/xforms-engine``: ``--engine OTHER/index.js`` (e.g. a copy of
dist/index.js without the hunk under test) and ours. For each: every select's options
(value, label, image) in every language of the form, blank and after answering each shown
select (its last option) in three passes, then the instance XML (times and UUIDs
blanked). Prints one line per form and exits 1 if any differs, with the first difference.

Usage: .venv/bin/python bench/engine_same.py --engine /tmp/before/index.js [--forms a,b]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import threading
from pathlib import Path

import openpyxl
from playwright.sync_api import sync_playwright
from werkzeug.middleware.shared_data import SharedDataMiddleware
from werkzeug.serving import make_server
from werkzeug.wrappers import Response

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.engine_profile import ARGS, Quiet, bundle_engine, prepare  # noqa: E402

PAGE = '<!doctype html><meta charset="utf-8"><script type="module" src="/same.js"></script>'
STAMP = re.compile(r"\d{4}-\d\d-\d\dT[\d:.]+[+-]\d\d:\d\d")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def translated_choices_form(path: Path) -> Path:
    """Two languages; a cascade, an image choice, a `${who}` label, a half-translated list."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "survey"
    zh, en = "label::中文 (zh)", "label::English (en)"
    for row in [
        ["type", "name", zh, en, "choice_filter", "relevant"],
        ["text", "who", "姓名", "Name", "", ""],
        ["select_one town", "town", "镇", "Town", "", ""],
        ["select_one village", "village", "村", "Village", "town=${town}", ""],
        ["select_one pic", "pic", "图", "Picture", "", ""],
        ["select_multiple greet", "greet", "问候", "Greeting", "", ""],
        ["select_one mixed", "mixed", "混合", "Mixed", "", "${town} != ''"],
    ]:
        ws.append(row)
    ch = wb.create_sheet("choices")
    ch.append(["list_name", "name", zh, en, "media::image::中文 (zh)", "town"])
    for t in ("a", "b"):
        ch.append(["town", t, f"镇{t}", f"Town {t}", "", ""])
    for i in range(6):
        ch.append(["village", f"v{i}", f"村{i}", f"Village {i}", "", "a" if i % 2 else "b"])
    ch.append(["pic", "p1", "图一", "Picture one", "one.png", ""])
    ch.append(["pic", "p2", "图二", "Picture two", "", ""])
    ch.append(["greet", "g1", "你好 ${who}", "Hello ${who}", "", ""])
    ch.append(["greet", "g2", "再见", "Bye", "", ""])
    ch.append(["mixed", "m1", "中", "", "", ""])
    ch.append(["mixed", "m2", "", "Only English", "", ""])
    st = wb.create_sheet("settings")
    st.append(["form_id", "version", "default_language"])
    st.append(["tr_choices", "1", "中文 (zh)"])
    wb.save(path)
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--engine", required=True, help="the other build's dist/index.js")
    ap.add_argument("--forms", default="", help="comma-separated names (default: all)")
    args = ap.parse_args()
    from fieldapp.surveys.services import convert_xlsform

    tmp = Path(tempfile.mkdtemp())
    forms, site = prepare(tmp)
    xlsx = translated_choices_form(tmp / "tr_choices.xlsx")
    xform, _schema, _notes = convert_xlsform(xlsx.read_bytes(), xlsx.name)
    forms.append({"name": "tr_choices", "xform": xform, "draft": 0})
    wanted = {f for f in args.forms.split(",") if f}
    forms = [f for f in forms if not f["draft"] and (not wanted or f["name"] in wanted)]
    (site / "same.html").write_text(PAGE, encoding="utf-8")
    app = SharedDataMiddleware(lambda e, s: Response("not found", 404)(e, s), {"/": str(site)})
    server = make_server("127.0.0.1", 0, app, request_handler=Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    results: dict[str, dict[str, str]] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        for tag, engine in (("other", args.engine), ("ours", None)):
            bundle_engine(site, engine, entry="engine_same_entry.js", out="same.js")
            page = browser.new_page()
            page.goto(base + "/same.html")
            page.wait_for_function("() => !!window.dump")
            for f in forms:
                out = page.evaluate("(xml) => window.dump(xml)", f["xform"])
                results.setdefault(f["name"], {})[tag] = UUID.sub("U", STAMP.sub("T", out))
            page.close()
        browser.close()
    server.shutdown()
    differ = 0
    for name, pair in results.items():
        ours = json.loads(pair["ours"])
        options = sum(len(o[2]) for x in ours if x[0] in ("blank", "answered") for o in x[2])
        languages = len({x[1] for x in ours if x[0] == "blank"})
        same = pair["ours"] == pair["other"]
        print(f"{name:28s} {'same' if same else 'DIFFERENT'}: {options} options in {languages} language(s)")
        if not same:
            differ += 1
            for a, b in zip(json.loads(pair["other"]), ours):
                if a != b:
                    print("  other:", json.dumps(a, ensure_ascii=False)[:400])
                    print("  ours: ", json.dumps(b, ensure_ascii=False)[:400])
                    break
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
