"""Every format of a report holds the same cells: CSV (byte for byte the same for the same report), the
Excel workbook (read back with openpyxl), HTML and the canonical JSON a frozen report keeps."""

from __future__ import annotations

import datetime as dt
import io
import json

from openpyxl import load_workbook

from reports.formats import render, to_csv, to_html, to_xlsx
from reports.periods import BEIJING
from reports.table import Column, Report

REPORT = Report(
    kind="petitions",
    title="信访情况统计 · 批次与人次",
    period="2026-Q3",
    period_start=dt.date(2026, 7, 1),
    period_end=dt.date(2026, 9, 30),
    as_of=dt.datetime(2026, 10, 6, tzinfo=BEIJING),
    columns=(
        Column("channel", "信访形式", "channel"),
        Column("batches", "批次", "batches"),
        Column("rate", "占比", "share"),
    ),  # fmt: skip
    rows=(("visit", 2, 0.6667), ("letter", 1, None), ("total", 3, 1.0)),
    params={"split": "none"},
    notes=("集体访 = 5 people or more.",),
)


def test_csv_has_the_form_headings_with_the_wire_keys_and_is_deterministic() -> None:
    data = to_csv(REPORT)
    assert data.startswith("\ufeff".encode()) and data == to_csv(Report.from_json(REPORT.to_json()))
    lines = data.decode("utf-8-sig").splitlines()
    assert lines == [
        "信访形式 [channel],批次 [batches],占比 [rate]",
        "visit,2,0.6667",
        "letter,1,",
        "total,3,1",
    ]


def test_workbook_holds_the_same_cells() -> None:
    ws = load_workbook(io.BytesIO(to_xlsx(REPORT))).active
    assert ws is not None
    values = [list(r) for r in ws.iter_rows(values_only=True)]
    assert values[0][0] == REPORT.title and "2026-10-06T00:00:00+08:00" in str(values[2][0])
    assert values[3] == ["信访形式", "批次", "占比"] and values[4] == ["channel", "batches", "rate"]
    assert values[5:8] == [["visit", 2, 0.6667], ["letter", 1, None], ["total", 3, 1]]
    assert values[-1][0] == "集体访 = 5 people or more."


def test_html_and_json() -> None:
    page = to_html(REPORT).decode()
    assert '<th>批次<br><span class="en">batches</span></th>' in page and "<script" not in page
    assert json.loads(render(REPORT, "json")) == REPORT.to_json()
    assert Report.from_json(json.loads(REPORT.canonical())).canonical() == REPORT.canonical()
