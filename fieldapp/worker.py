"""The one background worker: a loop that runs every kind of background work in turn.

Kinds are listed in ``kinds()`` (exports, held entity updates, the figures' facts,
reminders):
a queue kind is asked to claim and run one item each turn; a scheduled kind runs every
``every`` seconds. Each app process runs the loop in a thread, started explicitly by the
WSGI entry point (``fieldapp.wsgi``), never from a request; ``fieldapp jobs work`` runs
it in a process of its own. Queues live in the database (claimed with a conditional
UPDATE), so several processes and hosts sharing one PostgreSQL share the work.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask

from fieldapp.extensions import db

POLL = 2.0  # seconds between turns when nothing was done
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Kind:
    """A kind of background work. ``run(app, worker_name)`` does one item and returns
    ``True`` when it did something (a queue kind: more may wait); a kind with ``every``
    (seconds) is scheduled and runs at most that often."""

    name: str
    run: Callable[[Flask, str], bool]
    every: float | None = None


def kinds() -> list[Kind]:
    """Every kind of background work, in the order a turn runs them."""
    from fieldapp.cases.process import run_held_updates
    from fieldapp.exports import queue
    from fieldapp.figures.facts import run_figure_facts
    from fieldapp.reminders.sender import run_reminders

    return [
        Kind("export", queue.run_next_export),
        Kind("export-cleanup", queue.clean_up, every=600),
        Kind("entity-backlog", run_held_updates, every=600),
        Kind("figure-facts", run_figure_facts, every=60),
        Kind("reminders", run_reminders, every=300),
    ]


def worker_name() -> str:
    """This process's name in the queues (host:pid)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def turn(app: Flask, last_run: dict[str, float], name: str | None = None) -> bool:
    """Run each kind once if due (inside an app context); ``True`` when one was busy.
    ``last_run`` (kind name → time.monotonic()) is kept by the caller between turns."""
    busy = False
    with app.app_context():
        for kind in kinds():
            now = time.monotonic()
            if kind.every is not None and now - last_run.get(kind.name, -kind.every) < kind.every:
                continue
            last_run[kind.name] = now
            try:
                busy = kind.run(app, name or worker_name()) or busy
            except Exception:  # noqa: BLE001 - one kind's failure must not stop the others
                log.exception("background work %s", kind.name)
                db.session.rollback()
        db.session.remove()
    return busy


def run(app: Flask, once: bool = False) -> None:
    """Work until stopped (``once``: until nothing is left to do now)."""
    last_run: dict[str, float] = {}
    while True:
        try:
            busy = turn(app, last_run)
        except Exception:  # noqa: BLE001 - the worker must outlive a database hiccup
            log.exception("background worker")
            busy = False
        if not busy:
            if once:
                return
            time.sleep(POLL)


_started: set[int] = set()
_lock = threading.Lock()


def start(app: Flask) -> None:
    """Start this process's worker thread, once per process (config ``WORKER_THREAD``
    turns it off, e.g. when ``fieldapp jobs work`` runs apart)."""
    if not app.config.get("WORKER_THREAD", True):
        return
    with _lock:
        if os.getpid() in _started:
            return
        _started.add(os.getpid())
    threading.Thread(target=run, args=(app,), name="fieldapp-worker", daemon=True).start()
