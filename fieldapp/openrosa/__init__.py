"""The OpenRosa API that ODK Collect and our phone app speak: form list, XForms,
manifests and media, and submissions (docs.getodk.org/openrosa-form-list,
docs.getodk.org/openrosa-form-submission), served at ``/``, under ODK Collect app-user
URLs ``/key/<token>/`` and under draft test links ``/test/<draft_token>/``
(``auth.py`` says who the caller is on each)."""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix


def register(app: Flask) -> None:
    """Serve the OpenRosa blueprint the three ways, the draft test fill page, and trust
    ``PROXY_FIX`` proxies' ``X-Forwarded-*`` headers for the whole app (HTTPS behind a
    TLS-terminating proxy: Basic auth needs ``request.is_secure``; the client address:
    login limits, ``fieldapp.auth.throttle``, and the audit log)."""
    from fieldapp.openrosa.drafttest import bp as drafttest_bp
    from fieldapp.openrosa.views import bp

    app.register_blueprint(bp)
    app.register_blueprint(bp, name="openrosa_key", url_prefix="/key/<token>")
    app.register_blueprint(bp, name="openrosa_test", url_prefix="/test/<draft_token>")
    app.register_blueprint(drafttest_bp)
    proxies = int(app.config.get("PROXY_FIX") or 0)
    if proxies:
        app.wsgi_app = ProxyFix(
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies, x_port=proxies
        )
