"""fieldapp: field surveys and case follow-up for grassroots social work."""

from __future__ import annotations

import json
from datetime import timedelta

from flask import Flask, has_request_context, request, session

from fieldapp.config import ROOT, load_config
from fieldapp.extensions import babel, csrf, db, limiter, login_manager


def select_locale() -> str:
    """The UI language: the session's choice, else the browser's, else Chinese."""
    if not has_request_context():  # background work: messages in the default language
        return "zh"
    chosen = session.get("lang")
    if chosen in ("zh", "en"):
        return chosen
    return request.accept_languages.best_match(["zh", "en"]) or "zh"


def _no_store(response):
    """Pages and data are never cached by the browser (the security headers:
    fieldapp/security_headers.py)."""
    if response.mimetype in ("text/html", "application/json", "text/csv", "text/xml"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def compact_json(value) -> str:
    """JSON text for the database: UTF-8 characters as they are, no spaces."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def create_app(test_config: dict | None = None) -> Flask:
    """Build the Flask app: config, extensions, blueprints, error handlers. No I/O but
    reading (or first creating) the secret key file; no migrations here."""
    cfg = load_config(test_config)
    app = Flask(
        __name__,
        instance_path=cfg["INSTANCE_PATH"],
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.update(cfg)
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=int(cfg["SESSION_HOURS"]))
    # Answers are stored as compact UTF-8 JSON (not \\u escapes): smaller, and exports
    # decode them about twice as fast. A pooled connection to a database server can die
    # (restart, idle timeout), so it is pinged before use; a SQLite file cannot, and the ping
    # was one more statement on every request (issue 14's load bench).
    engine_options: dict = {"json_serializer": compact_json}
    if not str(cfg.get("SQLALCHEMY_DATABASE_URI", "")).startswith("sqlite"):
        engine_options["pool_pre_ping"] = True
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", engine_options)

    db.init_app(app)
    csrf.init_app(app)
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_translation_directories=str(ROOT / "fieldapp" / "translations"),
    )
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None

    from fieldapp import errors, loaders, openrosa, security_headers
    from fieldapp.api.views import bp as api_bp
    from fieldapp.areas.views import bp as areas_bp
    from fieldapp.audit.views import bp as audit_bp
    from fieldapp.auth.views import bp as auth_bp
    from fieldapp.cases.views import bp as cases_bp
    from fieldapp.dashboard.views import bp as dashboard_bp
    from fieldapp.exports.views import bp as exports_bp
    from fieldapp.figures.views import bp as figures_bp
    from fieldapp.people.views import bp as people_bp
    from fieldapp.phones.views import bp as phones_bp
    from fieldapp.pwa.views import bp as pwa_bp
    from fieldapp.reminders.views import bp as reminders_bp
    from fieldapp.reports.views import bp as reports_bp
    from fieldapp.submissions.views import bp as submissions_bp
    from fieldapp.surveys.views import bp as surveys_bp

    loaders.register(app)
    errors.register(app)
    app.register_blueprint(auth_bp)
    app.register_blueprint(surveys_bp)
    app.register_blueprint(submissions_bp)
    app.register_blueprint(dashboard_bp)
    openrosa.register(app)  # at /, /key/<token>/ (ODK Collect), /test/<draft_token>/
    app.register_blueprint(phones_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(pwa_bp)
    app.register_blueprint(exports_bp)
    app.register_blueprint(figures_bp)  # /figures: the yearly figures, targets
    app.register_blueprint(areas_bp)  # /admin/areas
    app.register_blueprint(people_bp)
    app.register_blueprint(audit_bp)  # /admin/audit
    app.register_blueprint(cases_bp)  # /cases: households
    app.register_blueprint(reports_bp)  # /reports: periodic reports, completeness
    app.register_blueprint(reminders_bp)  # /api/v1/push, /api/v1/reminders (issue 13)

    from flask_babel import get_locale, gettext

    from fieldapp import scope
    from fieldapp.auth.models import ROLE_LABELS

    app.after_request(_no_store)
    security_headers.register(app)
    app.jinja_env.globals["current_locale"] = lambda: str(get_locale() or "zh")
    app.jinja_env.globals["scope"] = scope  # templates ask scope.is_viewer(current_user)…
    app.jinja_env.globals["role_label"] = lambda role: gettext(ROLE_LABELS.get(role, role))
    return app
