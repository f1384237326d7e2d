"""A draft form's test fill page, ``/test/<draft_token>/fill``: the server fill page
(templates/surveys/fill.html) pointed at the draft's ``/test/`` OpenRosa routes, so that
whoever holds the link fills the draft in a phone's browser without logging in; what
they send is test data (``Submission.test``)."""

from __future__ import annotations

from flask import Blueprint, g, render_template, request, url_for
from flask_babel import gettext as _

from fieldapp.scope import caller, token_route

bp = Blueprint("drafttest", __name__, url_prefix="/test/<draft_token>")


@bp.url_value_preprocessor
def _take_token(endpoint: str | None, values: dict | None) -> None:
    if values and "draft_token" in values:
        g.draft_token = values.pop("draft_token")


@bp.get("/fill")
@token_route
def fill():
    """Fill the draft in test mode; after a send the same page says it arrived."""
    form = caller().form
    version = form.current
    token = g.draft_token
    args = {"draft_token": token, "form_id": form.form_id, "version": version.version}
    return render_template(
        "phones/draft_fill.html",
        form=form,
        version=version,
        xform_url=url_for("openrosa_test.xform", **args),
        media_base=url_for("openrosa_test.media", filename="x", **args)[:-1],
        submit_url=url_for("openrosa_test.submission", draft_token=token),
        done_url=url_for(".fill", draft_token=token),
        test_notice=_("测试模式：此处提交的数据只用于试填，问卷发布时会被删除")
        if "sent" not in request.args
        else _("测试提交已收到。可以再填一份，或关闭此页"),
    )
