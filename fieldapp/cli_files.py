"""Where a command's output goes (``-o FILE`` or ``-o -``): shared by the report and
figures commands, so that each says the same thing about a missing folder."""

from __future__ import annotations

import sys
from pathlib import Path

import click


def output_target(output: str | None) -> Path | None:
    """The file ``-o`` names, or None for standard output (``-`` or nothing). Raises
    ``click.ClickException`` (in Chinese) when its folder does not exist."""
    target = None if output in (None, "-") else Path(output)
    if target is not None and not target.parent.is_dir():
        raise click.ClickException(f"文件夹 {target.parent} 不存在，请先建立或换一个位置")
    return target


def emit(data: bytes, target: Path | None) -> None:
    """Write ``data`` to ``target``, or to standard output when it is None."""
    if target is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    target.write_bytes(data)
    click.echo(f"已写入 {target}", err=True)
