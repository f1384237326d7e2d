#!/usr/bin/env bash
# Re-extract UI strings and merge them into the English catalogue; then translate the
# new entries in fieldapp/translations/en/LC_MESSAGES/messages.po (msgids are Chinese).
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k N_ --no-location \
  --sort-output -o fieldapp/translations/messages.pot .
.venv/bin/pybabel update -i fieldapp/translations/messages.pot -d fieldapp/translations \
  --no-fuzzy-matching --ignore-obsolete
