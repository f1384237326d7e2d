"""OpenRosa response bodies and headers (docs.getodk.org/openrosa-http)."""

from __future__ import annotations

from xml.sax.saxutils import escape

from flask import Response, current_app

OPENROSA_NS = "http://openrosa.org/http/response"


def openrosa_headers(resp: Response) -> Response:
    """Add ``X-OpenRosa-Version`` and ``X-OpenRosa-Accept-Content-Length`` (bytes)."""
    resp.headers["X-OpenRosa-Version"] = "1.0"
    resp.headers["X-OpenRosa-Accept-Content-Length"] = str(current_app.config["MAX_CONTENT_LENGTH"])
    return resp


def openrosa_message(
    message: str, status: int = 201, nature: str = "submit_success", headers: dict | None = None
) -> Response:
    """An ``<OpenRosaResponse>`` with one ``<message nature=…>``."""
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<OpenRosaResponse xmlns="{OPENROSA_NS}">'
        f'<message nature="{nature}">{escape(message)}</message></OpenRosaResponse>'
    )
    resp = Response(
        body, status=status, content_type="text/xml; charset=utf-8", headers=headers or {}
    )
    return openrosa_headers(resp)
