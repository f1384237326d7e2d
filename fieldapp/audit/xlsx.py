"""The audit log as an Excel workbook: one sheet, oldest event first, written row by row
(XlsxWriter's constant-memory mode, events read in batches) so a large log costs no
more memory than a small one."""

from __future__ import annotations

from pathlib import Path

from flask_babel import gettext as _
from sqlalchemy import Select

from fieldapp.audit.actions import action_label
from fieldapp.audit.log import rows
from fieldapp.audit.models import AuditEvent
from fieldapp.dataset.formula import quoted_format, write_text

XLSX_MAX_ROWS = 1_048_576  # rows per worksheet, header included (Excel's limit)
XLSX_MAX_CHARS = 32_767  # characters per cell (Excel's limit)


class AuditExportError(ValueError):
    """The selected events do not fit a worksheet."""


def write_audit_xlsx(path: Path, stmt: Select, tz: str) -> int:
    """Write the events of ``stmt`` (``scope.audit_events_in_scope`` narrowed by a
    filter) to ``path``; return how many. Times are local to ``tz`` (named in the
    header); every text cell is text, and one that a spreadsheet could take for a
    formula carries Excel's quote prefix (``write_text``), so it stays text even when
    someone edits it, without a visible apostrophe.

    Raises ``AuditExportError`` when there are more events than a worksheet holds."""
    import xlsxwriter

    header = [
        _("编号"),
        _("时间（%(tz)s）", tz=tz),
        _("用户名"),
        _("姓名"),
        _("操作"),
        _("操作代码"),
        _("对象"),
        _("详情"),
        _("来源地址"),
    ]
    wb = xlsxwriter.Workbook(
        str(path),
        {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False},
    )
    when = wb.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    quoted = quoted_format(wb)
    ws = wb.add_worksheet(_("审计日志")[:31])
    ws.set_column(1, 1, 20)
    ws.set_column(6, 7, 40)
    for col, title in enumerate(header):
        write_text(ws, 0, col, title, quoted=quoted)
    count = 0
    try:
        for count, event in enumerate(rows(stmt.order_by(None).order_by(AuditEvent.id), tz), 1):
            if count >= XLSX_MAX_ROWS:
                raise AuditExportError(
                    _(
                        "审计日志超过 Excel 每张工作表 %(n)s 行的上限，请缩小日期范围分批导出",
                        n=XLSX_MAX_ROWS - 1,
                    )
                )
            ws.write_number(count, 0, event.id)
            ws.write_datetime(count, 1, event.at.replace(tzinfo=None), when)
            texts = [
                event.username,
                event.display_name,
                action_label(event.action),
                event.action,
                event.object,
                event.detail_text,
                event.remote_addr,
            ]
            for col, value in enumerate(texts, 2):
                if value:
                    write_text(ws, count, col, value[:XLSX_MAX_CHARS], quoted=quoted)
    finally:
        wb.close()
    return count
