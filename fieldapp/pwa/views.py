"""Routes of the offline phone app.

The shell (``/app``) holds no user data and no CSRF token, so the service worker may
serve it from its cache when there is no network; everything personal comes from the
JSON API and IndexedDB. The service worker is served from the root so that its scope
covers ``/app`` (W3C Service Workers, "Service-Worker-Allowed").
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template

from fieldapp.config import ROOT
from fieldapp.scope import public

bp = Blueprint("pwa", __name__)

THEME = "#0b6e4f"


@bp.get("/app")
@public
def shell():
    """The app shell: plain HTML that loads the phone app's modules."""
    resp = current_app.make_response(render_template("app/shell.html", theme=THEME))
    resp.headers["Cache-Control"] = "no-cache"  # revalidate online; the SW keeps a copy
    return resp


@bp.get("/manifest.webmanifest")
@public
def manifest():
    """The web app manifest (W3C Web App Manifest): Chinese name, maskable icons."""
    resp = jsonify(
        name="平安家庭 · 田野采集",
        short_name="平安家庭",
        description="妇联平安家庭排查、调解走访与调查问卷（可离线填写）",
        lang="zh-CN",
        start_url="/app",
        scope="/",
        display="standalone",
        orientation="portrait",
        theme_color=THEME,
        background_color="#f6f5f2",
        icons=[
            {
                "src": f"/static/icons/icon-{n}.png",
                "sizes": f"{n}x{n}",
                "type": "image/png",
                "purpose": "any maskable",
            }
            for n in (192, 512)
        ],
    )
    resp.mimetype = "application/manifest+json"
    return resp


@bp.get("/sw.js")
@public
def service_worker():
    """The service worker bundle, served from the root so its scope is the whole site."""
    body = (ROOT / "static" / "build" / "sw.js").read_bytes()
    release = current_app.config.get("RELEASE")
    if release:  # a deploy without a rebuild (e.g. new settings) can still roll phones on
        body += f"\n// release {release}\n".encode()
    resp = current_app.response_class(body, mimetype="text/javascript")
    resp.headers["Service-Worker-Allowed"] = "/"
    resp.headers["Cache-Control"] = "no-cache"
    return resp
