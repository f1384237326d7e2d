"""Security headers on every response: a strict Content-Security-Policy (no inline script
or style, no eval), Permissions-Policy, Cross-Origin-Opener-Policy, X-Content-Type-Options,
X-Frame-Options, Referrer-Policy, and HSTS when the request came over HTTPS.

A few lines of our own rather than flask-talisman (1.1.0), which does not fit here:

- it overwrites every response's ``Content-Security-Policy``, so the ``sandbox`` policy our
  attachment downloads carry (fieldapp/openrosa/views.py, submissions/views.py,
  api/corrections.py: an uploaded HTML file never runs as our page) would be lost unless
  each of those views were decorated with the extension's instance; here a response's own
  policy is kept;
- it sends HSTS (and skips its HTTPS redirect) when a raw ``X-Forwarded-Proto: https``
  header says so, even with ``PROXY_FIX=0``, where we trust no proxy; here HTTPS is
  ``request.is_secure``, which counts ``X-Forwarded-Proto`` only through werkzeug's
  ``ProxyFix`` (``FIELDAPP_PROXY_FIX``, fieldapp/openrosa/__init__.py);
- it rewrites ``SESSION_COOKIE_SECURE``/``SAMESITE`` on every request unless each option is
  turned off (ours come from fieldapp/config.py), and has no Cross-Origin-Opener-Policy.

With those turned off, what it would add is six constant headers.

The policy's sources (MDN "Content-Security-Policy"; web.dev "strict CSP"):
``'wasm-unsafe-eval'`` lets the form engine (@getodk/xforms-engine) compile its XPath
parser's WebAssembly, and nothing else (no ``eval``); ``blob:`` and ``data:`` images are
photos taken on the phone and small inline icons; ``worker-src 'self'`` is /sw.js;
``connect-src 'self'``: the phone talks only to this server.
"""

from __future__ import annotations

from flask import Flask, Response, request

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'wasm-unsafe-eval'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "font-src 'self'",
        "connect-src 'self'",
        "worker-src 'self'",
        "manifest-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
# Questions read the phone's location, camera (photos) and microphone (audio) on our own
# pages only; nothing else a page could ask for is needed.
PERMISSIONS_POLICY = ", ".join(
    [
        "camera=(self)",
        "geolocation=(self)",
        "microphone=(self)",
        "accelerometer=()",
        "display-capture=()",
        "gyroscope=()",
        "magnetometer=()",
        "midi=()",
        "payment=()",
        "usb=()",
    ]
)
HSTS = "max-age=31536000"  # one year; no includeSubDomains: other hosts are not ours

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Permissions-Policy": PERMISSIONS_POLICY,
    "Cross-Origin-Opener-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def add_security_headers(response: Response) -> Response:
    """Set the headers a response does not set itself; HSTS only over HTTPS."""
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def register(app: Flask) -> None:
    """Send the security headers on every response of ``app``."""
    app.after_request(add_security_headers)
