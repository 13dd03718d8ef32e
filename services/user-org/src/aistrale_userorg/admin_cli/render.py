"""What the CLI prints: readable tables (rich) for people, JSON for scripts.

Ids are never cut: a table piped to another program is as wide as its rows need (rich
would otherwise fold it into 80 columns), and in a narrow terminal the id columns keep
their full width while the other columns wrap.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

# As wide as a table needs when the output is not a terminal: nobody's screen to fit.
PIPED_WIDTH = 10_000

console = Console(width=None if sys.stdout.isatty() else PIPED_WIDTH)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "-"
    return str(value)


def _is_id(column: str) -> bool:
    return column == "id" or column.endswith("_id") or column in ("key", "prefix")


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str], title: str = "") -> None:
    out = Table(title=title or None, show_lines=False)
    for column in columns:
        if _is_id(column):
            widest = max((len(_cell(row.get(column))) for row in rows), default=0)
            out.add_column(column, no_wrap=True, min_width=max(widest, len(column)))
        else:
            out.add_column(column, overflow="fold")
    for row in rows:
        out.add_row(*(_cell(row.get(c)) for c in columns))
    console.print(out)


def record(row: dict[str, Any]) -> None:
    out = Table(show_header=False)
    out.add_column("field", style="bold", no_wrap=True)
    out.add_column("value", overflow="fold")
    for name, value in row.items():
        out.add_row(name, _cell(value))
    console.print(out)


def as_json(value: Any) -> None:
    """Every field the API returned, not only the table's columns: for scripts (`jq`)."""
    print(json.dumps(value, indent=2, default=str))


def usd(micro: int) -> str:
    return f"${micro / 1_000_000:,.6f}".rstrip("0").rstrip(".")
