"""The one background worker: it runs every kind of background work (exports today),
a failing kind does not stop the others, and no request starts it."""

from __future__ import annotations

from fieldapp import worker
from tests.helpers import SCREENING, export, screening_answers, switch_user


def test_the_worker_finishes_a_queued_export_and_then_rests(app, client, world, submit):
    submit(SCREENING, [screening_answers()])
    switch_user(client, world.researcher)
    resp = export(client, "/data/family_screening/export?format=xlsx&background=1")
    job = resp.headers["Location"].rsplit("/", 1)[-1]
    assert client.get(f"/data/exports/{job}.json").json["status"] == "queued"

    worker.run(app, once=True)  # what `fieldapp jobs work --once` does

    assert client.get(f"/data/exports/{job}.json").json["status"] == "done"


def test_one_failing_kind_does_not_stop_the_others(app, monkeypatch):
    done = []

    def broken(app, name):
        raise RuntimeError("database went away")

    def healthy(app, name):
        done.append(name)
        return False

    monkeypatch.setattr(
        worker, "kinds", lambda: [worker.Kind("broken", broken), worker.Kind("ok", healthy)]
    )
    assert worker.turn(app, {}, name="test:1") is False
    assert done == ["test:1"]


def test_a_scheduled_kind_runs_at_most_as_often_as_it_says(app, monkeypatch):
    runs = []
    monkeypatch.setattr(
        worker,
        "kinds",
        lambda: [worker.Kind("tidy", lambda app, name: runs.append(1) or False, every=600)],
    )
    last_run: dict[str, float] = {}
    worker.turn(app, last_run)
    worker.turn(app, last_run)
    assert len(runs) == 1


def test_no_request_starts_background_work(app):
    hooks = [f for funcs in app.before_request_funcs.values() for f in funcs]
    assert not [f for f in hooks if "worker" in f.__name__ or "worker" in (f.__doc__ or "")]
