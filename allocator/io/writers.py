"""Writing CSV, Excel and JSON that are safe to open in a spreadsheet."""
from __future__ import annotations

import io as _io
import json
import re
from typing import Any
from collections.abc import Mapping, Sequence

import pandas as pd

from allocator.io.records import FORMULA_STARTS


def neutralise(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula gets a leading apostrophe (OWASP "CSV injection")."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _safe_frame(rows: pd.DataFrame | Sequence[Mapping[str, Any]], columns: Sequence[str] | None) -> pd.DataFrame:
    frame = rows.copy() if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows), columns=columns)
    if columns is not None:
        frame = frame.reindex(columns=list(columns))
    for column in frame.columns:
        if frame[column].dtype == object or pd.api.types.is_string_dtype(frame[column]):
            frame[column] = frame[column].map(neutralise)
    return frame


def to_csv_bytes(rows: pd.DataFrame | Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None) -> bytes:
    """CSV bytes Excel opens with Unicode names intact: UTF-8 with a byte-order mark, CRLF line ends."""
    frame = _safe_frame(rows, columns)
    return frame.to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")


def to_xlsx_bytes(sheets: Mapping[str, pd.DataFrame | Sequence[Mapping[str, Any]]],
                  columns: Mapping[str, Sequence[str]] | None = None) -> bytes:
    """An .xlsx workbook, one sheet per entry, with the same formula neutralising as the CSV; each sheet
    keeps its header row in view (frozen), has filters on every column and columns wide enough to read."""
    buffer = _io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, rows in sheets.items():
            frame = _safe_frame(rows, (columns or {}).get(name))
            sheet = re.sub(r"[\[\]:*?/\\]", " ", name)[:31] or "Sheet1"
            frame.to_excel(writer, sheet_name=sheet, index=False)
            ws = writer.sheets[sheet]
            for i, column in enumerate(frame.columns, start=1):
                width = max([len(str(column))] + [len(str(v)) for v in frame[column].head(200).tolist()])
                ws.column_dimensions[ws.cell(row=1, column=i).column_letter].width = min(60, max(8, width + 2))
            ws.freeze_panes = "A2"
            if len(frame.columns):
                ws.auto_filter.ref = ws.dimensions
    return buffer.getvalue()


def to_json_bytes(value: Any) -> bytes:
    """JSON a person can read and diff, yet compact: a top-level object with one record per line."""
    def dumps(v: Any) -> str:
        return json.dumps(v, ensure_ascii=False, separators=(",", ":"))

    if not isinstance(value, dict):
        return (dumps(value) + "\n").encode("utf-8")
    parts = []
    for key, item in value.items():
        if isinstance(item, list) and item:
            body = ",\n  ".join(dumps(v) for v in item)
            parts.append(f" {dumps(key)}: [\n  {body}\n ]")
        elif isinstance(item, dict) and item:
            body = ",\n  ".join(f"{dumps(k)}:{dumps(v)}" for k, v in item.items())
            parts.append(f" {dumps(key)}: {{\n  {body}\n }}")
        else:
            parts.append(f" {dumps(key)}: {dumps(item)}")
    return ("{\n" + ",\n".join(parts) + "\n}\n").encode("utf-8")
