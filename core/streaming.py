"""CSV answered as a stream: rows are written as they are read, so memory stays flat however many there are."""

import csv
import io
from collections.abc import Iterable, Iterator, Sequence

from django.http import StreamingHttpResponse

# Bytes gathered before a chunk goes out: one write per row would mean one
# socket write per row under gunicorn.
CHUNK_BYTES = 64 * 1024
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection):
# text from users (descriptions, product names) is prefixed with a quote instead.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value) -> object:
    """Return `value` as a spreadsheet reads it literally: text that would be a formula gets a leading `'`."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return f"'{value}"
    return value


def csv_chunks(rows: Iterable[Sequence]) -> Iterator[str]:
    """Yield `rows` as CSV text in chunks of about CHUNK_BYTES."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        writer.writerow([csv_cell(value) for value in row])
        if buffer.tell() >= CHUNK_BYTES:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()


def csv_response(*, rows: Iterable[Sequence], filename: str) -> StreamingHttpResponse:
    """Answer `rows` (the header first) as a streamed `text/csv` attachment named `filename`."""
    response = StreamingHttpResponse(csv_chunks(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
