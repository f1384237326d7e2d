"""Form version schemas kept parsed in the process, keyed by their content (issue 14).

Decoding a version's schema JSON was 3-6 % of a submission's CPU (bench/load.py
``--profile``). A version's schema can change in place without a new version (the
identifiers marked again at re-publish, ``fieldapp.surveys.services``), so the key is
a SHA-256 of the stored text, read with the row: a changed schema is a different key
and is decoded afresh; a stale one is never served. Each process (gunicorn worker) has
its own cache; it holds at most ``LIMIT`` schemas, the oldest dropped first.

The dicts handed out are shared between requests: callers must not change them (none
does: the submission path only reads a schema).
"""

from __future__ import annotations

import hashlib
import json
import threading

LIMIT = 64  # schemas kept per process; a district has a handful of live versions

_parsed: dict[bytes, dict] = {}
_lock = threading.Lock()


def parsed_schema(text: str) -> dict:
    """The schema stored as JSON ``text``, decoded once per distinct content and then
    served from the process's cache (read-only: see the module's docstring). Raises
    ``json.JSONDecodeError`` for text that is not JSON, as decoding the column would."""
    key = hashlib.sha256(text.encode("utf-8")).digest()
    schema = _parsed.get(key)
    if schema is None:
        schema = json.loads(text)
        with _lock:
            while len(_parsed) >= LIMIT:
                _parsed.pop(next(iter(_parsed)), None)
            _parsed[key] = schema
    return schema


def clear() -> None:
    """Forget every kept schema (tests)."""
    with _lock:
        _parsed.clear()
