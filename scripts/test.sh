#!/usr/bin/env bash
# The README's second command: set up (test dependencies, Chromium for the browser tests)
# and run the whole suite on SQLite, then again on PostgreSQL when
# FIELDAPP_TEST_DATABASE_URL is set (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test).
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test

if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian's chromium and fonts-noto-cjk for the browser tests" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
  else
    echo "the browser tests need /usr/bin/chromium: sudo apt-get install chromium fonts-noto-cjk" >&2
    exit 1
  fi
fi

echo "== tests on SQLite =="
env -u FIELDAPP_TEST_DATABASE_URL .venv/bin/python -m pytest "$@"
if [ -n "${FIELDAPP_TEST_DATABASE_URL:-}" ]; then
  # The browser tests drive the same services through pages; they run once (SQLite).
  echo "== tests on PostgreSQL (without the browser tests) =="
  .venv/bin/python -m pytest --ignore=tests/e2e "$@"
fi
