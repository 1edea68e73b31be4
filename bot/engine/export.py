"""The question log as JSON-ready data and as CSV, for the CLI and /qa export."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.store import InteractionRecord

CSV_COLUMNS = (
    "id",
    "asked_at",
    "scope",
    "channel_id",
    "user_id",
    "via",
    "question",
    "answered",
    "answers",
    "latency_ms",
    "thumbs_up",
    "thumbs_down",
)
# A spreadsheet reads a cell starting with one of these as a formula (OWASP, CSV injection),
# even after leading whitespace, which some spreadsheets trim before deciding; a cell starting
# with a tab or CR is on OWASP's list as well.
_FORMULA_STARTS = ("=", "+", "-", "@")
_TRIMMED_STARTS = ("\t", "\r")


def interaction_json(row: InteractionRecord) -> dict[str, Any]:
    """A log row as plain JSON-ready data."""
    return {
        "id": row.id,
        "asked_at": row.asked_at,
        "scope": row.scope,
        "channel_id": row.channel_id,
        "user_id": row.user_id,
        "via": row.via,
        "question": row.question,
        "answered": row.answered,
        "answers": [
            {
                "sentence_id": a.sentence_id,
                "document_id": a.document_id,
                "sentence": a.position,
                "score": a.score,
            }
            for a in row.answers
        ],
        "latency_ms": row.latency_ms,
        "thumbs_up": row.thumbs_up,
        "thumbs_down": row.thumbs_down,
    }


def interactions_csv(rows: Sequence[InteractionRecord]) -> str:
    """Log rows as CSV text with a header (shared by the CLI and /qa export)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        data = interaction_json(row)
        data["answers"] = json.dumps(data["answers"])
        writer.writerow([spreadsheet_safe(data[column]) for column in CSV_COLUMNS])
    return buffer.getvalue()


def spreadsheet_safe(value: object) -> object:
    """A text cell that would start a formula, prefixed with a single quote (shown as text)."""
    if isinstance(value, str) and (
        value.startswith(_TRIMMED_STARTS) or value.lstrip().startswith(_FORMULA_STARTS)
    ):
        return "'" + value
    return value


@dataclass(frozen=True, slots=True)
class ExportFile:
    """Log rows as one file within an upload limit: the newest `rows` of them, maybe zipped."""

    data: bytes
    filename: str
    rows: int
    zipped: bool


def export_file(rows: Sequence[InteractionRecord], name: str, limit: int) -> ExportFile | None:
    """Rows (newest first) as `name`.csv in at most `limit` bytes, or None if not even one fits.

    The CSV as it is when it fits; zipped when that fits (a log compresses several times over);
    else the newest rows whose zipped CSV fits.
    """
    text = _csv_bytes(rows)
    if len(text) <= limit:
        return ExportFile(text, f"{name}.csv", len(rows), zipped=False)
    kept = len(rows)
    while kept > 0:
        data = _zipped(f"{name}.csv", text if kept == len(rows) else _csv_bytes(rows[:kept]))
        if len(data) <= limit:
            return ExportFile(data, f"{name}.zip", kept, zipped=True)
        # Rows compress about alike: aim a little under the limit, and always shrink.
        kept = min(kept - 1, int(kept * limit / len(data) * 0.95))
    return None


def _csv_bytes(rows: Sequence[InteractionRecord]) -> bytes:
    return interactions_csv(rows).encode("utf-8")


def _zipped(filename: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(filename, data)
    return buffer.getvalue()
