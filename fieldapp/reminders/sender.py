"""Sending the reminders that are due (issue 13): ``send_due``, run by the background
worker (kind ``reminders``, every 5 minutes) and by ``fieldapp reminders send``.

Each run: for every active user with a push subscription and outside their quiet hours
(config ``TIMEZONE``; nothing is claimed then, so it goes out after), the reminders of
``fieldapp.reminders.messages`` for their kinds; each one for each of their devices is
claimed (``fieldapp.reminders.claims``: never sent twice for the same subscription,
kind and day, whichever hosts run at once), together with earlier ones due for another
try. Then a bounded pool (config ``PUSH_WORKERS``) sends them, encrypted (aes128gcm) and
signed (VAPID) by ``pywebpush``, with ``TTL`` (config ``PUSH_TTL``) and ``Urgency``,
through ``outbound.push_session``: only to addresses on the internet, no redirects.
Outcomes, in this thread (the pool touches no database): 2xx sent; 404 or 410 the
subscription is gone and deleted; anything else (5xx, 429, a timeout, no connection)
failed, tried again later with back-off (``claims.backoff``) and logged. One endpoint's
failure never stops the others."""

from __future__ import annotations

import base64
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import requests
from cryptography.hazmat.primitives.asymmetric import ec
from flask import Flask, current_app
from pywebpush import WebPushException, webpush
from sqlalchemy import select, update

from fieldapp.auth.models import User
from fieldapp.extensions import db
from fieldapp.reminders import claims, outbound, vapid
from fieldapp.reminders.messages import Reminder, reminders_for
from fieldapp.reminders.models import (
    FAILED,
    GONE,
    PENDING,
    SENT,
    PushSubscription,
    ReminderDelivery,
)
from fieldapp.reminders.preferences import in_quiet_hours, preferences_of_users
from fieldapp.reminders.subscriptions import delete_subscription

TIMEOUT = 15  # seconds per push
# A push is started only this long after the run began: it ends (TIMEOUT for the
# connection, again for the answer) and is recorded before its claim's lease
# (claims.LEASE, from the run's start) runs out and another sender may claim it again.
SEND_WITHIN = claims.LEASE.total_seconds() - 4 * TIMEOUT
log = logging.getLogger(__name__)


@dataclass
class Summary:
    """What a run did: reminders ``planned`` (dry run: what would be claimed), ``sent``,
    ``gone`` (subscriptions deleted), ``failed`` (pushes to try again), ``quiet`` (users in
    quiet hours), ``lines`` (one per reminder, for ``--dry-run``: user id, kind, body)."""

    planned: int = 0
    sent: int = 0
    gone: int = 0
    failed: int = 0
    quiet: int = 0
    lines: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Job:
    """One claimed push, with everything the sending thread needs (no ORM objects)."""

    delivery_id: int
    subscription_id: int
    endpoint: str
    p256dh: str
    auth: str
    payload: str
    urgency: str
    attempts: int  # the claim's: its outcome is written only while the claim is still this


def current_time() -> datetime:
    """This moment (UTC): the sender's clock (a test sets it)."""
    return datetime.now(UTC)


def _utc(now: datetime | None) -> datetime:
    if now is None:
        return current_time()
    return now.astimezone(UTC) if now.tzinfo else now.replace(tzinfo=UTC)


def send_due(
    app: Flask | None = None, now: datetime | None = None, dry_run: bool = False
) -> Summary:
    """Claim and send the reminders due at ``now`` (default: this moment); ``dry_run``:
    only say what would be claimed. Needs an app context (``app``: one is pushed)."""
    if app is not None:
        with app.app_context():
            return send_due(None, now, dry_run)
    started = time.monotonic()
    now = _utc(now)
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    local = now.astimezone(zone)
    day = local.date()
    summary = Summary()
    devices: dict[int, list[int]] = {}  # user id -> subscription ids, one query
    for user_id, sub_id in db.session.execute(
        select(PushSubscription.user_id, PushSubscription.id).order_by(PushSubscription.id)
    ):
        devices.setdefault(user_id, []).append(sub_id)
    users = db.session.scalars(
        select(User).where(User.active.is_(True), User.id.in_(devices)).order_by(User.id)
    ).all()
    prefs = preferences_of_users([u.id for u in users])
    claimed = _claimed_today(day)
    planned: list[tuple[int, Reminder, list[int]]] = []
    quiet_users = set()
    for user in users:
        pref = prefs[user.id]
        if in_quiet_hours(pref, local.time().replace(tzinfo=None)):
            summary.quiet += 1
            quiet_users.add(user.id)
            continue
        subs = devices[user.id]
        done = frozenset(k for k, got in claimed.items() if got >= set(subs))
        for reminder in reminders_for(user, pref, day, now, done):
            summary.planned += len(subs)
            summary.lines.append(f"{user.username}\t{reminder.kind}\t{len(subs)}\t{reminder.body}")
            planned.append((user.id, reminder, subs))
    db.session.commit()  # end the reading transaction before claiming (SQLite)
    if dry_run:
        return summary
    claims.forget_old(day)
    if not planned and not claims.due_again(day, now):
        return summary
    if not _vapid_ok():
        return summary  # nothing claimed: the next run tries again
    jobs = _claim(planned, quiet_users, day, now, summary)
    if jobs:
        _record(_send_all(jobs, started + SEND_WITHIN), now, summary)
    return summary


def _claimed_today(day) -> dict[str, set[int]]:
    """Kind -> the subscriptions a reminder of that kind was claimed for on ``day``
    (one query; a kind claimed for all of a person's devices needs no computing)."""
    stmt = select(ReminderDelivery.kind, ReminderDelivery.subscription_id).where(
        ReminderDelivery.day == day, ReminderDelivery.subscription_id.is_not(None)
    )
    found: dict[str, set[int]] = {}
    for kind, sub in db.session.execute(stmt):
        found.setdefault(kind, set()).add(sub)
    return found


def _vapid_ok() -> bool:
    """True when the VAPID key loads and signs with config ``VAPID_SUBJECT``; else the
    reason is logged (a wrong setting must not fail, or delete, every subscription)."""
    try:
        claims_ = {"aud": "https://push.invalid", "sub": current_app.config["VAPID_SUBJECT"]}
        vapid.vapid_key().sign(claims_)
    except Exception:  # noqa: BLE001 - py_vapid raises several kinds
        log.exception("reminders not sent: the VAPID key or FIELDAPP_VAPID_SUBJECT is unusable")
        return False
    return True


def _device_key_ok(p256dh: str) -> bool:
    """True when ``p256dh`` is a point of P-256 (a push can be encrypted for it)."""
    try:
        raw = base64.urlsafe_b64decode(p256dh + "=" * (-len(p256dh) % 4))
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    except ValueError:
        return False
    return True


def _claim(planned, quiet_users: set[int], day, now: datetime, summary: Summary) -> list[Job]:
    """Claim the new reminders and those due for another try; the jobs this run won."""
    won = []
    for user_id, reminder, subs in planned:
        for sub_id in subs:
            delivery = claims.claim_new(
                sub_id, user_id, reminder.kind, day, reminder.payload(), reminder.urgency, now
            )
            if delivery is not None:
                won.append(delivery)
    for delivery, attempts in claims.due_again(day, now):
        if claims.claim_again(delivery, attempts, now):
            won.append(delivery)
    jobs = []
    for delivery_id in won:
        d = db.session.get(ReminderDelivery, delivery_id)
        sub = db.session.get(PushSubscription, d.subscription_id) if d.subscription_id else None
        if sub is None:
            continue
        if not _device_key_ok(sub.p256dh):  # no push can be encrypted for it: never
            d.state, d.next_try_at, d.last_error = GONE, None, "invalid p256dh"
            log.info("push subscription %s has an unusable key: deleted", sub.id)
            delete_subscription(sub)
            summary.gone += 1
            continue
        if d.user_id in quiet_users:  # a retry falls in quiet hours: later
            d.state, d.attempts = FAILED, d.attempts - 1
            d.next_try_at = now + claims.BACKOFF
            continue
        jobs.append(
            Job(d.id, sub.id, sub.endpoint, sub.p256dh, sub.auth, d.payload, d.urgency, d.attempts)
        )
    db.session.commit()
    return jobs


def _send_all(jobs: list[Job], deadline: float) -> list[tuple[Job, int | None, str | None]]:
    """Send ``jobs`` with at most ``PUSH_WORKERS`` at once: (job, HTTP status or None
    when no answer came, error text or None). A job not started by ``deadline``
    (``time.monotonic()``) is not sent and left out: its claim's lease runs out and the
    next run claims it again (many pushes that time out, e.g. 400 to an unreachable push
    service, take longer than the lease; a push sent after it could be sent twice)."""
    key = vapid.vapid_key()
    subject = current_app.config["VAPID_SUBJECT"]
    ttl = int(current_app.config["PUSH_TTL"])
    workers = max(1, int(current_app.config["PUSH_WORKERS"]))
    loopback = bool(current_app.config.get("TESTING"))  # the tests' push service

    def one(job: Job):
        if time.monotonic() > deadline:
            return None
        parts = urlsplit(job.endpoint)
        claims_ = {
            "aud": f"{parts.scheme}://{parts.netloc}",
            "exp": int(time.time()) + 12 * 3600,
            "sub": subject,
        }
        info = {"endpoint": job.endpoint, "keys": {"p256dh": job.p256dh, "auth": job.auth}}
        session = outbound.push_session(loopback)
        try:
            resp = webpush(
                info,
                data=job.payload,
                vapid_private_key=key,
                vapid_claims=claims_,
                ttl=ttl,
                timeout=TIMEOUT,
                headers={"Urgency": job.urgency},
                requests_session=session,
            )
            return job, resp.status_code, None
        except WebPushException as exc:
            status = exc.response.status_code if exc.response is not None else None
            return job, status, str(exc).splitlines()[0][:500]
        except requests.RequestException as exc:
            return job, None, f"{type(exc).__name__}: {exc}"[:500]
        except Exception as exc:  # noqa: BLE001 - one push must not stop the batch
            return job, None, f"{type(exc).__name__}: {exc}"[:500]
        finally:
            session.close()

    with ThreadPoolExecutor(max_workers=min(workers, len(jobs))) as pool:
        done = [outcome for outcome in pool.map(one, jobs) if outcome is not None]
    if len(done) < len(jobs):
        log.warning(
            "%s pushes left for the next run: this run's leases ran out", len(jobs) - len(done)
        )
    return done


def _settle(job: Job, **values) -> bool:
    """Write ``values`` on ``job``'s delivery only while it is still this run's claim
    (pending, at the attempt this run claimed): a conditional UPDATE, so a run whose
    lease ran out never overwrites the claim another run has taken since. True when
    written."""
    stmt = (
        update(ReminderDelivery)
        .where(
            ReminderDelivery.id == job.delivery_id,
            ReminderDelivery.state == PENDING,
            ReminderDelivery.attempts == job.attempts,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return db.session.execute(stmt).rowcount == 1


def _record(outcomes, now: datetime, summary: Summary) -> None:
    """Write each push's outcome (this thread; one commit). An outcome whose claim
    another run has taken since (the lease ran out) is only logged."""
    for job, status, error in outcomes:
        sub = db.session.get(PushSubscription, job.subscription_id)
        if status is not None and 200 <= status < 300:
            if not _settle(job, state=SENT, sent_at=now, next_try_at=None, last_error=None):
                log.warning("push %s sent after its lease ran out", job.delivery_id)
            if sub is not None:
                sub.last_success_at, sub.failures = now, 0
            summary.sent += 1
        elif status in (404, 410):  # gone (RFC 8030 §7.3): never again
            _settle(job, state=GONE, next_try_at=None, last_error=error or str(status))
            log.info("push subscription %s gone (%s): deleted", job.subscription_id, status)
            if sub is not None:
                delete_subscription(sub)
                summary.gone += 1
        else:
            last_error = error or f"HTTP {status}"
            again = job.attempts < claims.MAX_ATTEMPTS
            _settle(
                job,
                state=FAILED,
                last_error=last_error,
                next_try_at=now + claims.backoff(job.attempts) if again else None,
            )
            if sub is not None:
                sub.failures += 1
            log.warning(
                "push to subscription %s failed (attempt %s): %s",
                job.subscription_id,
                job.attempts,
                last_error,
            )
            summary.failed += 1
    db.session.commit()


def run_reminders(app: Flask, worker: str) -> bool:
    """The background worker's kind ``reminders``: one ``send_due`` (scheduled, so
    always False: nothing queued waits for the next turn)."""
    summary = send_due(None)
    if summary.sent or summary.failed or summary.gone:
        log.info(
            "reminders by %s: %s sent, %s failed, %s gone",
            worker,
            summary.sent,
            summary.failed,
            summary.gone,
        )
    return False
