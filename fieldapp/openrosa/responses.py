"""OpenRosa response bodies and headers (docs.getodk.org/openrosa-http)."""

from __future__ import annotations

from xml.sax.saxutils import escape

from flask import Response, current_app

OPENROSA_NS = "http://openrosa.org/http/response"


def accept_content_length(max_body: int) -> int:
    """The ``X-OpenRosa-Accept-Content-Length`` for a largest request body of
    ``max_body`` bytes. ODK Collect splits an upload by the sizes of its files alone
    (OkHttpConnection.uploadSubmissionAndFiles), not counting the multipart framing, so
    we ask for a little less than we take: 64 KiB, or a tenth of a small limit."""
    return max_body - min(64 * 1024, max_body // 10)


def openrosa_headers(resp: Response) -> Response:
    """Add ``X-OpenRosa-Version`` and ``X-OpenRosa-Accept-Content-Length`` (bytes)."""
    resp.headers["X-OpenRosa-Version"] = "1.0"
    resp.headers["X-OpenRosa-Accept-Content-Length"] = str(
        accept_content_length(current_app.config["MAX_CONTENT_LENGTH"])
    )
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
