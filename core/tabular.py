"""Tables streamed as CSV or XLSX in flat memory, whatever their length.

Rows come from an async iterator (the caller reads the database in batches). CSV is encoded
and yielded every ~32 KB. XLSX is written by XlsxWriter (BSD-2-Clause) in `constant_memory`
mode: each row goes to a temporary file as it is written and only the current row is held;
the package is zipped from those files when the last row is in, then read back in 64 KB
chunks and deleted. The writing runs in a worker thread, one batch of rows at a time, so a
long export does not stall the event loop for the other requests of the worker.

Every text cell that a spreadsheet would read as a formula (it begins with = + - @, or a tab
or carriage return, OWASP "CSV injection") is prefixed with an apostrophe, in both formats,
so the two hold the same cells. Numbers are written as numbers.
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Sequence
from enum import StrEnum

import xlsxwriter

Cell = str | int | float | None
FORMULA_PREFIXES = frozenset("=+-@\t\r")
# An XLSX worksheet holds at most this many rows; longer tables go on to a second sheet.
XLSX_SHEET_ROWS = 1_048_576
CSV_CHUNK = 32_768
XLSX_CHUNK = 65_536
XLSX_BATCH = 1000


class TableFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


MEDIA_TYPES = {
    TableFormat.CSV: "text/csv; charset=utf-8",
    TableFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def neutralise(value: Cell) -> Cell:
    """The cell as a spreadsheet must show it: text that would start a formula is quoted."""
    if isinstance(value, str) and value[:1] in FORMULA_PREFIXES:
        return "'" + value
    return value


async def csv_chunks(rows: AsyncIterator[Sequence[Cell]]) -> AsyncIterator[bytes]:
    """UTF-8 with a byte-order mark: Excel opens Chinese text correctly only with one."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    async for row in rows:
        writer.writerow(["" if cell is None else neutralise(cell) for cell in row])
        if buffer.tell() > CSV_CHUNK:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


class _Sheets:
    """The workbook's sheets as rows arrive: a new sheet, headed by the table's first row,
    whenever one is full."""

    def __init__(self, book: xlsxwriter.Workbook, name: str) -> None:
        self.book, self.name = book, name[:25]
        self.count, self.row = 0, XLSX_SHEET_ROWS
        self.header: Sequence[Cell] | None = None
        self.sheet: xlsxwriter.worksheet.Worksheet | None = None

    def write(self, batch: list[Sequence[Cell]]) -> None:
        for row in batch:
            if self.header is None:
                self.header = row
            if self.row == XLSX_SHEET_ROWS:
                self.count += 1
                self.sheet = self.book.add_worksheet(
                    self.name if self.count == 1 else f"{self.name} ({self.count})")
                self.sheet.freeze_panes(1, 0)
                self.row = 0
                if row is not self.header:
                    _write_row(self.sheet, 0, self.header)
                    self.row = 1
            assert self.sheet is not None
            _write_row(self.sheet, self.row, row)
            self.row += 1


def _write_row(sheet: xlsxwriter.worksheet.Worksheet, number: int, row: Sequence[Cell]) -> None:
    for column, cell in enumerate(row):
        if cell is None:
            continue
        if isinstance(cell, int | float):
            sheet.write_number(number, column, cell)
        else:
            sheet.write_string(number, column, str(neutralise(cell)))


async def xlsx_chunks(rows: AsyncIterator[Sequence[Cell]],
                      sheet_name: str = "Sheet1") -> AsyncIterator[bytes]:
    """The first row is the header (frozen, and repeated on every further sheet)."""
    directory = tempfile.mkdtemp(prefix="tongxin-xlsx-")
    try:
        path = os.path.join(directory, "export.xlsx")
        book = xlsxwriter.Workbook(path, {
            "constant_memory": True, "tmpdir": directory, "strings_to_numbers": False,
            "strings_to_formulas": False, "strings_to_urls": False})
        sheets = _Sheets(book, sheet_name)
        batch: list[Sequence[Cell]] = []
        async for row in rows:
            batch.append(row)
            if len(batch) == XLSX_BATCH:
                await asyncio.to_thread(sheets.write, batch)
                batch = []
        await asyncio.to_thread(sheets.write, batch)
        if sheets.sheet is None:
            book.add_worksheet(sheets.name)
        await asyncio.to_thread(book.close)
        package = await asyncio.to_thread(open, path, "rb")
        try:
            while chunk := await asyncio.to_thread(package.read, XLSX_CHUNK):
                yield chunk
        finally:
            package.close()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def table_chunks(rows: AsyncIterator[Sequence[Cell]], table_format: TableFormat,
                 sheet_name: str = "Sheet1") -> AsyncIterator[bytes]:
    if table_format == TableFormat.XLSX:
        return xlsx_chunks(rows, sheet_name)
    return csv_chunks(rows)
