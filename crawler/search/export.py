"""The one CSV and NDJSON writer of search results, shared by ``marsad export``/``search`` and
the web page's downloads (pure: records in, text chunks out; nothing is held but one row).

CSV cells that a spreadsheet would run as a formula are prefixed with a single quote (OWASP
"CSV Injection"); a UTF-8 byte order mark at the start lets Excel read Arabic.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

__all__ = [
    "BOM",
    "CSV_FIELDS",
    "FORMULA_STARTS",
    "csv_chunks",
    "csv_value",
    "export_fields",
    "ndjson_chunks",
]

#: The columns of a search result in CSV (``marsad search --format csv``).
CSV_FIELDS = ("id", "published_at", "source", "language", "topics", "title", "url")
#: A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: UTF-8 byte order mark: without it Excel decodes a CSV as the local code page.
BOM = "\ufeff"


def export_fields(with_text: bool) -> list[str]:
    """The columns of ``marsad export`` and the web page's CSV download."""
    return [*CSV_FIELDS, "author", "description"] + (["text"] if with_text else [])


def csv_value(value: Any) -> Any:
    """*value* as one CSV cell: lists and topic dicts joined with ';', text that a spreadsheet
    would read as a formula prefixed with a single quote."""
    if isinstance(value, dict):
        value = ";".join(value)
    elif isinstance(value, list):
        value = ";".join(map(str, value))
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_chunks(
    records: Iterable[dict[str, Any]], fields: Sequence[str], *, bom: bool = False
) -> Iterator[str]:
    """The CSV text of *records*: the header (after a BOM with *bom*), then one chunk per row."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(fields), extrasaction="ignore")

    def flush() -> str:
        chunk = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return chunk

    writer.writeheader()
    yield (BOM if bom else "") + flush()
    for record in records:
        writer.writerow({key: csv_value(value) for key, value in record.items()})
        yield flush()


def ndjson_chunks(records: Iterable[dict[str, Any]]) -> Iterator[str]:
    """One JSON object per line (UTF-8 text, not escaped)."""
    for record in records:
        yield json.dumps(record, ensure_ascii=False, default=str) + "\n"
