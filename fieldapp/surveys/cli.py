"""``fieldapp forms``: publish, list, change the state of and add media to
questionnaires from the server's command line (as ``scope.OPERATOR``, audited "via cli").
Each command calls the services the web pages call."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from fieldapp.extensions import db

FILES = click.Path(exists=True, dir_okay=False, path_type=Path)


def _app():
    from fieldapp import create_app

    return create_app()


def _form(form_id: str):
    from fieldapp.scope import OPERATOR, form_in_scope

    form = form_in_scope(OPERATOR, form_id)
    if form is None:
        raise click.ClickException(f"没有问卷 {form_id}（fieldapp forms list 列出全部）")
    return form


@contextmanager
def _change() -> Iterator[None]:
    """Commit what the block does; a refusal rolls back and exits 1 with its reason."""
    from fieldapp.surveys.lifecycle import FormStateError

    try:
        yield
    except FormStateError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    db.session.commit()


@click.group()
def forms() -> None:
    """Manage questionnaires: import, list, state, media."""


@forms.command("import")
@click.argument("file", type=FILES)
@click.option(
    "--area",
    "area_code",
    default=None,
    help="area to publish to (a new form: the root area; an existing one: where it is)",
)
@click.option("--media", multiple=True, type=FILES, help="a media file the form names")
@click.option("--draft", is_flag=True, help="a new form starts as a draft, to test first")
def forms_import(file: Path, area_code, media, draft: bool) -> None:
    """Publish an XLSForm FILE; exit 1 with pyxform's message when it is broken."""
    from fieldapp.areas.services import AreaError, get_area
    from fieldapp.surveys.services import XLSFormError, import_xlsform, missing_media_warning

    app = _app()
    with app.app_context():
        try:
            area = get_area(area_code) if area_code else None
            result = import_xlsform(
                file.read_bytes(),
                file.name,
                area,
                None,
                [(m.name, m.read_bytes()) for m in media],
                max_bytes=app.config["MAX_XLSFORM_BYTES"],
                draft=draft,
                via="cli",
            )
        except (XLSFormError, AreaError) as exc:
            db.session.rollback()
            click.echo(f"错误：{exc}", err=True)
            sys.exit(1)
        db.session.commit()
        fv = result.form_version
        for w in result.warnings:
            click.echo(f"提示：{w}", err=True)
        if result.missing_media:
            click.echo(f"警告：{missing_media_warning(result.missing_media)}", err=True)
            click.echo(f"  补传：fieldapp forms media {fv.form.form_id} 文件…", err=True)
        if not result.created:
            state = "已存在（内容相同），未发布新版本"
        elif fv.form.state == "draft":
            state = "已存为草稿"
        else:
            state = "已发布"
        click.echo(
            f"{state}：{fv.form.form_id} 版本 {fv.version}（{fv.title}）→ {fv.form.area.name}"
        )
        if result.created and fv.form.state == "draft":
            click.echo(
                f"  测试：问卷页面 /surveys/{fv.form.form_id} 有测试链接和二维码；"
                f"测试后 fieldapp forms state {fv.form.form_id} open"
            )


@forms.command("list")
@click.option("--archived", is_flag=True, help="also list archived forms")
def forms_list(archived: bool) -> None:
    """List every form: id, state, current version, area, missing media."""
    from fieldapp.scope import OPERATOR, forms_to_manage
    from fieldapp.surveys.lifecycle import STATE_LABELS
    from fieldapp.surveys.media import missing_media

    with _app().app_context():
        for form in forms_to_manage(OPERATOR):
            if form.state == "archived" and not archived:
                continue
            missing = missing_media(form.current)
            note = f"  缺少附件 {len(missing)} 个" if missing else ""
            click.echo(
                f"{form.form_id}\t{STATE_LABELS[form.state]}\t{form.current.version}\t"
                f"{form.area.code} {form.area.name}\t{form.title}{note}"
            )


@forms.command("state")
@click.argument("form_id")
@click.argument("state", type=click.Choice(["open", "closed", "archived"]))
def forms_state(form_id: str, state: str) -> None:
    """Move FORM_ID to STATE (open: publish a draft, discarding its test submissions)."""
    from fieldapp.scope import OPERATOR
    from fieldapp.surveys.lifecycle import STATE_LABELS, set_state

    with _app().app_context():
        form = _form(form_id)
        with _change():
            change = set_state(form, state, OPERATOR, via="cli")
        click.echo(
            f"{form_id}：{STATE_LABELS[change.before]} → {STATE_LABELS[change.after]}"
            + (f"（删除测试提交 {change.discarded} 份）" if change.discarded else "")
        )


@forms.command("media")
@click.argument("form_id")
@click.argument("files", nargs=-1, required=True, type=FILES)
def forms_media(form_id: str, files: tuple[Path, ...]) -> None:
    """Add FILES to the current version of FORM_ID (replacing files of the same name);
    the version stays, phones fetch the files at their next update."""
    from fieldapp.scope import OPERATOR
    from fieldapp.surveys.lifecycle import add_media
    from fieldapp.surveys.media import missing_media
    from fieldapp.surveys.services import missing_media_warning

    with _app().app_context():
        form = _form(form_id)
        with _change():
            change = add_media(form, [(f.name, f.read_bytes()) for f in files], OPERATOR, "cli")
        click.echo(
            f"{form_id} 版本 {change.version}：新增 {len(change.added)} 个，"
            f"替换 {len(change.replaced)} 个附件"
        )
        still = missing_media(form.current)
        if still:
            click.echo(f"警告：{missing_media_warning(still)}", err=True)
