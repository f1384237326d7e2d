"""The phone app's pure JavaScript modules, tested with Node's own runner
(``node --test tests/js/``): the entity lists kept offline (static/js/app/entities.js)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_phone_modules_pass_their_node_tests():
    node = shutil.which("node")
    assert node, "Node.js (>= 20) is needed to build and test the phone app (README)"
    tests = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests" / "js").glob("*.test.mjs"))
    assert tests, "no tests/js/*.test.mjs found"
    run = subprocess.run(
        [node, "--test", *tests], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
