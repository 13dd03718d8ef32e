"""Readable tables for the CLI (rich)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

console = Console()


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "-"
    return str(value)


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str], title: str = "") -> None:
    out = Table(title=title or None, show_lines=False)
    for column in columns:
        out.add_column(column)
    for row in rows:
        out.add_row(*(_cell(row.get(c)) for c in columns))
    console.print(out)


def record(row: dict[str, Any]) -> None:
    out = Table(show_header=False)
    out.add_column("field", style="bold")
    out.add_column("value")
    for name, value in row.items():
        out.add_row(name, _cell(value))
    console.print(out)


def usd(micro: int) -> str:
    return f"${micro / 1_000_000:,.6f}".rstrip("0").rstrip(".")
