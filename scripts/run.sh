#!/usr/bin/env bash
# The README's first command: set up, create the SQLite database through Alembic, load
# the demo project, print the demo logins, and serve on http://127.0.0.1:8000.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/fieldapp init
.venv/bin/fieldapp demo
exec .venv/bin/fieldapp serve --bind "${FIELDAPP_BIND:-127.0.0.1:8000}" --workers "${FIELDAPP_WORKERS:-2}"
