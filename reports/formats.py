"""A :class:`~reports.table.Report` as CSV, an Excel workbook (openpyxl), HTML, or JSON.

Headings are the official forms' Chinese with the wire key beside it (``批次 [batches]``), so a reader of the
sheet sees the form and a program sees the key. CSV is UTF-8 with a byte-order mark (Excel opens it as
UTF-8) and is a pure function of the report: the same report gives the same bytes. The workbook holds the
same cells; its zip container stamps the time it was written, so compare workbooks by cells, not bytes.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from html import escape

from reports.periods import BEIJING
from reports.table import Cell, Report

FORMATS = ("table", "csv", "xlsx", "html", "json")


def heading(zh: str, key: str) -> str:
    return f"{zh} [{key}]"


def _text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".") if value % 1 else f"{value:.0f}"
    return str(value)


def _caption(report: Report) -> list[str]:
    as_of = report.as_of.astimezone(BEIJING)
    return [
        report.title,
        f"统计期 period: {report.period} ({report.period_start} – {report.period_end})",
        f"截至 as of (recorded by): {as_of.isoformat()}",
    ]


def to_csv(report: Report) -> bytes:
    """The report as CSV bytes: caption lines are not included, only the heading row and the rows."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([heading(c.zh, c.key) for c in report.columns])
    for row in report.rows:
        writer.writerow([_text(v) for v in row])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(report: Report) -> bytes:
    """The report as an .xlsx workbook: caption, Chinese headings, wire keys, rows, notes."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = report.kind[:31]
    for line in _caption(report):
        ws.append([line])
    ws["A1"].font = Font(bold=True, size=13)
    ws.append([c.zh for c in report.columns])
    ws.append([c.key for c in report.columns])
    head, keys = ws.max_row - 1, ws.max_row
    fill = PatternFill("solid", fgColor="E5E7EB")
    for cell in ws[head]:
        cell.font, cell.fill = Font(bold=True), fill
    for cell in ws[keys]:
        cell.font = Font(italic=True, color="6B7280")
    for row in report.rows:
        ws.append(list(row))
    ws.append([])
    for note in report.notes:
        ws.append([note])
    for i, col in enumerate(report.columns, start=1):
        width = max(len(col.zh) * 2, len(col.key), 8)
        ws.column_dimensions[get_column_letter(i)].width = min(width + 2, 60)
    ws.freeze_panes = f"A{keys + 1}"
    stamp = report.as_of.astimezone(dt.UTC).replace(tzinfo=None)
    wb.properties.created = wb.properties.modified = stamp
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def html_table(report: Report) -> str:
    """The table as an HTML fragment (``<table>`` with two heading lines: Chinese, then the wire key)."""
    head = "".join(
        f'<th>{escape(c.zh)}<br><span class="en">{escape(c.key)}</span></th>' for c in report.columns
    )
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(_text(v))}</td>" for v in row) + "</tr>" for row in report.rows
    )
    notes = "".join(f"<li>{escape(n)}</li>" for n in report.notes)
    caption = "<br>".join(escape(line) for line in _caption(report))
    return (
        f'<div class="scroll"><table><caption>{caption}</caption><thead><tr>{head}</tr></thead>'
        f'<tbody>{body}</tbody></table></div><ul class="notes">{notes}</ul>'
    )


def to_html(report: Report) -> bytes:
    """A self-contained HTML page of the report (inline CSS, no script)."""
    style = (
        "body{font-family:'Noto Sans CJK SC','PingFang SC',sans-serif;margin:2em;color:#111827}"
        "table{border-collapse:collapse;font-size:13px}th,td{border:1px solid #d1d5db;padding:4px 8px}"
        "th{background:#f3f4f6}td{text-align:right}td:first-child,td:nth-child(2){text-align:left}"
        ".en{font-weight:normal;color:#6b7280;font-size:11px}caption{text-align:left;margin-bottom:8px}"
    )
    page = (
        f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{escape(report.title)}'
        f"</title><style>{style}</style></head><body><h1>{escape(report.title)}</h1>{html_table(report)}"
        "</body></html>\n"
    )
    return page.encode("utf-8")


def render(report: Report, fmt: str) -> bytes:
    """The report in ``fmt`` (one of :data:`FORMATS` except ``table``, which the CLI prints itself)."""
    if fmt == "csv":
        return to_csv(report)
    if fmt == "xlsx":
        return to_xlsx(report)
    if fmt == "html":
        return to_html(report)
    if fmt == "json":
        return (report.canonical() + "\n").encode("utf-8")
    raise ValueError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
