"""The phone app can be installed from the browser and its shell holds nothing personal."""

from __future__ import annotations


def test_the_manifest_makes_an_installable_chinese_app(client):
    manifest = client.get("/manifest.webmanifest")
    assert manifest.mimetype == "application/manifest+json"
    m = manifest.json
    assert m["name"].startswith("平安家庭") and m["lang"] == "zh-CN"
    assert m["display"] == "standalone" and m["start_url"] == "/app"
    assert m["theme_color"]
    sizes = {i["sizes"]: i for i in m["icons"]}
    assert set(sizes) == {"192x192", "512x512"}
    for icon in sizes.values():
        assert "maskable" in icon["purpose"]
        assert client.get(icon["src"]).status_code == 200


def test_the_shell_can_be_cached_because_it_holds_no_user_data(client, world):
    from tests.helpers import login

    login(client, world.mediator)
    shell = client.get("/app")
    html = shell.get_data(as_text=True)
    assert "csrf-token" not in html and "和平社区" not in html and "mediator" not in html
    assert shell.headers["Cache-Control"] == "no-cache"


def test_the_service_worker_covers_the_whole_site_and_can_be_rolled(app, client):
    sw = client.get("/sw.js")
    assert sw.status_code == 200 and sw.headers["Service-Worker-Allowed"] == "/"
    app.config["RELEASE"] = "r2"
    try:
        assert client.get("/sw.js").data.endswith(b"// release r2\n")
    finally:
        app.config["RELEASE"] = ""
