#!/usr/bin/env bash
# Set up fieldapp in this checkout: a virtualenv in .venv with fieldapp installed
# (editable), and the phone-side bundle built with esbuild into static/build/.
# Usage: scripts/setup.sh [--test]   (--test also installs the test dependencies)
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
extras=""
[ "${1:-}" = "--test" ] && extras="[test]"
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".${extras}" 2>&1 \
  | grep -v "is ignored: it is neither a file nor a directory" || true
.venv/bin/python -c "import fieldapp" # fail here, clearly, if the install did not work

if ! command -v npm >/dev/null 2>&1; then
  echo "npm is missing: install Node.js 20 or newer (Debian: apt-get install nodejs npm)" >&2
  exit 1
fi
.venv/bin/pybabel compile -d fieldapp/translations >/dev/null

npm ci --no-audit --no-fund --loglevel=error
npm run --silent build
