"""Cohort files read in chunks by pyarrow: CSV in blocks cut at row ends (each parsed with all
cores, every cell as text), Parquet by record batch; repeated texts dictionary-encoded (pandas
categories). Memory stays bounded by the chunk, whatever the file's size.

The fast CSV path notes anything irregular (rows that do not fit the header, blank lines
between rows, a huge cell, a stray quote, bytes that are not UTF-8) and then raises
:class:`ExactReadNeeded`: the caller reads the file again with :func:`exact_csv_chunks`, the
Python ``csv`` check and pandas, which refuse such a file with the exact message (or read an
odd but valid one, such as a quoted cell after a space, exactly as before).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ionto_cds.cohort.overlap import read_ahead
from ionto_cds.cohort.schema import ID_COLUMN
from ionto_cds.errors import InputFileError, quote

CSV_BLOCK_BYTES = 32 << 20
"""Bytes of CSV parsed at once (about 90k rows of a full cohort)."""

FIELD_LIMIT = 131072
"""The Python csv module's cell limit, kept so that both readers refuse the same files."""


class ExactReadNeeded(Exception):
    """The fast CSV reader met something irregular: read the file with the exact reader."""


@dataclass
class CohortStream:
    """A cohort file as chunks of raw frames (``columns`` known before the first chunk).

    ``rows`` is the row count (Parquet) or an estimate from the bytes read so far (CSV),
    for the progress bar.
    """

    path: Path
    columns: list[str]
    chunks: Iterator[pd.DataFrame]
    size: int = 0
    rows: int | None = None
    done_bytes: int = 0
    text: bool = False
    """CSV (parsing text is most of reading it)."""

    def estimate(self, rows_so_far: int) -> int | None:
        """The row count, or an estimate from the share of the file read so far."""
        if self.rows is not None:
            return self.rows
        if self.done_bytes and self.size:
            return max(rows_so_far, round(rows_so_far * self.size / self.done_bytes))
        return None


def open_cohort(path: Path, chunk_rows: int = 200_000, exact: bool = False) -> CohortStream:
    """A cohort CSV (every cell as text; empty = unknown), Parquet file or folder of Parquet
    parts, as a stream of chunks. ``exact`` reads CSV with the exact (slow) reader."""
    if not path.exists():
        raise InputFileError(str(path), "no such file")
    if not (path.is_file() or path.is_dir()):  # a pipe or a device: read once, then it waits
        raise InputFileError(str(path), "not a regular file: save the cohort to a file and "
                             "screen that")
    suffix = path.suffix.lower()
    if suffix == ".csv" and not path.is_dir():
        return _exact_csv(path, chunk_rows) if exact else _fast_csv(path)
    if suffix in (".parquet", ".pq") or path.is_dir():
        return _parquet(path, chunk_rows)
    raise InputFileError(str(path), "expected a .csv or .parquet cohort file")


def read_cohort(path: Path) -> pd.DataFrame:
    """Read a whole cohort file into one frame of raw cells (text columns as ``str``)."""
    try:
        stream = open_cohort(path)
        frames = list(stream.chunks)
    except ExactReadNeeded:
        stream = open_cohort(path, exact=True)
        frames = list(stream.chunks)
    if not frames:
        return pd.DataFrame({c: pd.Series([], dtype="str") for c in stream.columns})
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    for name in frame.columns:
        if isinstance(frame[name].dtype, pd.CategoricalDtype):
            frame[name] = frame[name].astype("str")
    return frame


# --- CSV, fast ---------------------------------------------------------------------------------

@dataclass
class _Irregular:
    """What the fast reader noticed; any of it sends the file to the exact reader."""

    first_blank: int = -1
    last_content: int = -1

    def blank_between_rows(self) -> bool:
        return 0 <= self.first_blank < self.last_content


def _header(head: bytes, path: Path) -> tuple[list[str], int]:
    """The header row and the bytes it takes (a header spread over lines: exact reader)."""
    end = head.find(b"\n")
    if end < 0 and len(head) >= 1 << 16:
        raise ExactReadNeeded  # a header over 64 kB
    line = head[: end + 1] if end >= 0 else head
    if not line.strip() or line.count(b'"') % 2 or b"\r" in line.rstrip(b"\r\n"):
        # blank, quoted over several lines, or old Mac line ends (\r alone)
        raise ExactReadNeeded
    try:
        names = next(csv.reader(io.StringIO(line.decode("utf-8")), skipinitialspace=True))
    except (UnicodeDecodeError, csv.Error, StopIteration):
        raise ExactReadNeeded from None
    repeated = sorted({c.strip() for c in names if names.count(c) > 1})
    if repeated:
        raise InputFileError(str(path), "the header names a column twice: "
                             + ", ".join(quote(c) for c in repeated[:3]))
    if len(names) < 2:
        raise ExactReadNeeded  # one column: a blank line is a row there, so read it exactly
    return names, len(line)


def _cut(data: bytes) -> int:
    """Where to end a block: after the last newline outside quotes (an even count of quote
    characters before it), or 0 when the block holds no complete row."""
    cut = data.rfind(b"\n")
    if cut < 0:
        return 0
    if data.find(b'"', 0, cut) < 0:  # no quote before it (most files): nothing to count
        return cut + 1
    odd = data.count(b'"', 0, cut) % 2
    while odd:
        before = data.rfind(b"\n", 0, cut)
        if before < 0:
            return 0
        odd ^= data.count(b'"', before, cut) % 2
        cut = before
    return cut + 1


def _blocks(handle: Any, start: int, stream: CohortStream, seen: _Irregular
            ) -> Iterator[tuple[bytes, int]]:
    """Blocks of whole rows, as (bytes read, where the rows end in them), noting blank lines
    as they pass. Each block is read from where the last one's rows ended, so no block is
    copied (the GIL is held while bytes are copied, and screening needs it). A row that does
    not end within a few blocks (no newline, or an unbalanced quote) goes to the exact reader,
    which reads it in bounded memory."""
    offset, size = start, CSV_BLOCK_BYTES
    while True:
        handle.seek(offset)
        data = handle.read(size)
        if not data:
            return
        at_end = len(data) < size  # a regular file reads short only at its end
        cut = len(data) if at_end else _cut(data)
        if cut == 0:
            if size >= 4 * CSV_BLOCK_BYTES:
                raise ExactReadNeeded
            size *= 2
            continue
        _note_blanks(data, cut, offset, seen)
        if seen.blank_between_rows():
            raise ExactReadNeeded
        offset, size = offset + cut, CSV_BLOCK_BYTES
        stream.done_bytes = offset
        yield data, cut
        if at_end:
            return


def _note_blanks(data: bytes, cut: int, offset: int, seen: _Irregular) -> None:
    """Note the first blank line and the end of the last row with content in ``data[:cut]``."""
    if seen.first_blank < 0:
        starts_blank = data.startswith((b"\n", b"\r\n"), 0, cut)
        found = [i for i in (data.find(b"\n\n", 0, cut), data.find(b"\n\r\n", 0, cut))
                 if i >= 0]
        if starts_blank:
            seen.first_blank = offset
        elif found:
            seen.first_blank = offset + min(found) + 1
    content = cut
    while content and data[content - 1] in b"\r\n":
        content -= 1
    if content:
        seen.last_content = offset + content


def _fast_csv(path: Path) -> CohortStream:
    import pyarrow as pa  # type: ignore[import-untyped]
    import pyarrow.csv as pa_csv  # type: ignore[import-untyped]

    with path.open("rb") as first:
        head = first.read(1 << 16)
    if not head.strip():
        raise InputFileError(str(path), "the file is empty: write a header row of fact names")
    names, skip = _header(head, path)
    stream = CohortStream(path, names, iter(()), size=path.stat().st_size, done_bytes=skip,
                          text=True)
    seen = _Irregular()
    # every cell as text; repeated texts dictionary-encoded as they are parsed
    types = {n: pa.string() if n.strip() == ID_COLUMN else pa.dictionary(pa.int32(), pa.string())
             for n in names}
    # a row that does not fit the header is an ArrowInvalid (an invalid-row handler would
    # slow every block down by a third)
    parse = pa_csv.ParseOptions(newlines_in_values=True)
    convert = pa_csv.ConvertOptions(column_types=types, strings_can_be_null=False,
                                    quoted_strings_can_be_null=False)

    def chunks() -> Iterator[pd.DataFrame]:
        with path.open("rb") as handle:
            for data, cut in _blocks(handle, skip, stream, seen):
                try:
                    table = pa_csv.read_csv(
                        pa.BufferReader(pa.py_buffer(data).slice(0, cut)),
                        read_options=pa_csv.ReadOptions(column_names=names),
                        parse_options=parse, convert_options=convert)
                except (pa.ArrowInvalid, UnicodeDecodeError):
                    raise ExactReadNeeded from None
                if table.num_rows:
                    yield _text_frame(table)

    stream.chunks = chunks()
    return stream


def _text_frame(table: Any) -> pd.DataFrame:
    """Cells as given (less the spaces after a separator, as the exact reader skips them),
    fact columns as categoricals; a cell over the csv module's limit: exact reader. The checks
    look at each distinct text once, in pyarrow (without the GIL, which screening needs)."""
    import pyarrow as pa
    import pyarrow.compute as pc  # type: ignore[import-untyped]

    columns = []
    for column in table.columns:
        coded = pa.types.is_dictionary(column.type)
        texts = pa.chunked_array([chunk.dictionary for chunk in column.chunks], pa.string()) \
            if coded else column
        if len(texts) and pc.max(pc.utf8_length(texts)).as_py() > FIELD_LIMIT:
            raise ExactReadNeeded
        if len(texts) and pc.any(pc.starts_with(texts, " ")).as_py():
            trimmed = pc.utf8_ltrim(column.cast(pa.string()) if coded else column, " ")
            column = pc.dictionary_encode(trimmed) if coded else trimmed
        columns.append(column)
    frame: pd.DataFrame = pa.table(columns, names=table.column_names).to_pandas()
    return frame


# --- CSV, exact --------------------------------------------------------------------------------

def _exact_csv(path: Path, chunk_rows: int) -> CohortStream:
    """The Python csv shape check, then pandas in chunks: slow, and exactly as before."""
    try:
        check_csv_shape(path)
        reader = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False,
                             skipinitialspace=True, chunksize=chunk_rows)
    except pd.errors.EmptyDataError:
        raise InputFileError(str(path), "the file is empty: write a header row of fact "
                             "names") from None
    except (UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise InputFileError(str(path), f"not a readable CSV file ({exc})") from None
    try:
        first = next(reader)
    except StopIteration:  # pragma: no cover - pandas yields one (empty) chunk at least
        first = pd.DataFrame()
    except (UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise InputFileError(str(path), f"not a readable CSV file ({exc})") from None

    def chunks() -> Iterator[pd.DataFrame]:
        if len(first):
            yield first
        try:
            yield from reader
        except (UnicodeDecodeError, pd.errors.ParserError) as exc:
            raise InputFileError(str(path), f"not a readable CSV file ({exc})") from None

    return CohortStream(path, [str(c) for c in first.columns], chunks(), rows=None,
                        size=path.stat().st_size, text=True)


def check_csv_shape(path: Path, shown: int = 3) -> None:
    """Refuse a CSV whose rows do not match its header (a trailing separator, a missing or
    extra cell, a blank line between rows), whose header repeats a column, or that cannot be
    read as CSV: read as it is, such a file shifts or drops patients silently."""
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, skipinitialspace=True)
        try:
            width, bad = _misfits(reader, path, shown)
        except csv.Error as exc:
            raise InputFileError(str(path), f"line {reader.line_num}: not readable as CSV "
                                 f"({exc}): a cell over {csv.field_size_limit():,} characters, "
                                 "or a stray quote") from None
    if bad:
        more = f", and {len(bad) - shown} more" if len(bad) > shown else ""
        raise InputFileError(str(path), f"rows do not match the header's {width} columns: "
                             + "; ".join(bad[:shown]) + more
                             + ": give every row one cell per column")


def _misfits(reader: Any, path: Path, shown: int) -> tuple[int, list[str]]:
    """The header's width and the rows that do not fit it; a repeated column is refused."""
    header = next(reader, None)
    if header is None:
        return 0, []
    repeated = sorted({c.strip() for c in header if header.count(c) > 1})
    if repeated:
        raise InputFileError(str(path), "the header names a column twice: "
                             + ", ".join(quote(c) for c in repeated[:shown]))
    bad: list[str] = []
    blank_run: list[int] = []
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row) and len(row) <= 1:
            blank_run.append(line)  # blank: an error only when a data row follows
            continue
        bad += [f"line {n} is blank" for n in blank_run]
        blank_run = []
        if len(row) != len(header):
            trailing = len(row) == len(header) + 1 and not row[-1].strip()
            bad.append(f"line {line} has {len(row)} cells"
                       + (" (a separator at the end?)" if trailing else ""))
    return len(header), bad


# --- Parquet -----------------------------------------------------------------------------------

def check_parquet_folder(path: Path) -> None:
    """A folder of Parquet parts must hold only Parquet files that share one set of columns
    of one kind each; else the parts would be screened against different questions."""
    if not path.is_dir():
        return
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    files = parquet_parts(path)
    first = pq.read_schema(files[0])
    for other in files[1:]:
        schema = pq.read_schema(other)
        missing = [n for n in first.names if n not in schema.names]
        extra = [n for n in schema.names if n not in first.names]
        kinds = [n for n in first.names if n in schema.names
                 and not _same_kind(first.field(n).type, schema.field(n).type)]
        if missing or extra or kinds:
            said = ([f"lacks {', '.join(quote(n) for n in missing[:3])}"] if missing else []) \
                + ([f"adds {', '.join(quote(n) for n in extra[:3])}"] if extra else []) \
                + ([f"holds another kind of value in {', '.join(quote(n) for n in kinds[:3])}"]
                   if kinds else [])
            raise InputFileError(str(path), f"the parts do not share one set of columns: "
                                 f"{other.name} {'; '.join(said)} (compared with "
                                 f"{files[0].name}): write every part with the same columns")


def parquet_parts(path: Path) -> list[Path]:
    """The Parquet files of a folder, in order; anything else in it is refused."""
    files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith((".", "_")))
    strangers = [p.name for p in files if p.suffix.lower() not in (".parquet", ".pq")]
    if strangers:
        raise InputFileError(str(path), "the folder holds files that are not Parquet: "
                             + ", ".join(quote(n) for n in strangers[:3]) + ": move them out")
    if not files:
        raise InputFileError(str(path), "the folder holds no Parquet file")
    return files


def _same_kind(a: object, b: object) -> bool:
    import pyarrow as pa

    def kind(t: object) -> str:
        if isinstance(t, pa.DictionaryType):
            t = t.value_type
        return ("text" if pa.types.is_string(t) or pa.types.is_large_string(t) else
                "number" if pa.types.is_integer(t) or pa.types.is_floating(t) else
                "null" if pa.types.is_null(t) else str(t))

    ka, kb = kind(a), kind(b)
    return ka == kb or "null" in (ka, kb)


def _check_parquet_types(schema: Any, path: Path) -> list[str]:
    """One text, number or yes/no value per cell; the unsigned 64-bit columns (read as text,
    then range-checked like any cell) returned; lists, structures, binary refused by name."""
    import pyarrow as pa

    as_text = []
    for column in schema:
        kind = column.type
        if pa.types.is_dictionary(kind):
            kind = kind.value_type
        if pa.types.is_uint64(kind):
            as_text.append(column.name)
        elif not (pa.types.is_string(kind) or pa.types.is_large_string(kind)
                  or pa.types.is_integer(kind) or pa.types.is_floating(kind)
                  or pa.types.is_boolean(kind) or pa.types.is_null(kind)):
            held = ("lists" if pa.types.is_list(kind) or pa.types.is_large_list(kind) else
                    "nested records" if pa.types.is_struct(kind) else
                    "binary data" if pa.types.is_binary(kind) or pa.types.is_large_binary(kind)
                    else "dates or times" if pa.types.is_temporal(kind) else "values of another "
                    "kind")
            raise InputFileError(str(path), f"column {quote(column.name)} holds {held}: write "
                                 "one text, number or yes/no value per cell (a list as text "
                                 "separated by ';')")
    return as_text


def _batches(parts: Any, chunk_rows: int) -> Iterator[Any]:
    """A Parquet file's rows, ``chunk_rows`` at a time: a row group of moderate size is read
    whole and cut (pyarrow's batch reader holds about twice the memory), a larger one read in
    batches (memory bounded by the batch, whatever the group's size)."""
    for group in range(parts.num_row_groups):
        if parts.metadata.row_group(group).num_rows > 2 * chunk_rows:
            yield from parts.iter_batches(batch_size=chunk_rows, row_groups=[group])
            continue
        table = parts.read_row_group(group)
        for start in range(0, table.num_rows, chunk_rows):
            yield table.slice(start, chunk_rows)


def _parquet(path: Path, chunk_rows: int) -> CohortStream:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq
    from pyarrow import ArrowException

    def unreadable(exc: Exception) -> str:
        return f"not a readable Parquet file ({exc})"

    try:
        check_parquet_folder(path)
        files = parquet_parts(path) if path.is_dir() else [path]
        schema = pq.read_schema(files[0])
        rows = sum(pq.read_metadata(f).num_rows for f in files)
    except (OSError, ValueError, TypeError, ArrowException) as exc:
        if isinstance(exc, InputFileError):
            raise
        raise InputFileError(str(path), unreadable(exc)) from None
    as_text = _check_parquet_types(schema, path)
    booleans = {pa.bool_(): pd.BooleanDtype()}
    # repeated texts dictionary-encoded (pandas categories); the patient id is unique per row,
    # and a category per row would cost more than the text itself (as in the CSV reader)
    texts = [f.name for f in schema if f.name.strip() != ID_COLUMN
             and (pa.types.is_string(f.type) or pa.types.is_large_string(f.type))]

    def chunks() -> Iterator[pd.DataFrame]:
        try:
            for file in files:
                parts = pq.ParquetFile(file, read_dictionary=texts)
                _check_parquet_types(parts.schema_arrow, path)
                # the next row group is read on a thread (pyarrow, without the GIL) while
                # this one is screened; it is made a pandas frame only when its turn comes
                for batch in read_ahead(_batches(parts, chunk_rows)):
                    for name in as_text:
                        i = batch.schema.get_field_index(name)
                        batch = batch.set_column(i, name, pc.cast(batch.column(i), pa.string()))
                    stream.done_bytes += batch.nbytes
                    # yes/no with blanks as pandas booleans, not Python objects (8x smaller)
                    yield batch.to_pandas(types_mapper=booleans.get)
        except (OSError, ValueError, TypeError, ArrowException) as exc:
            if isinstance(exc, InputFileError):
                raise
            raise InputFileError(str(path), unreadable(exc)) from None

    stream = CohortStream(path, list(schema.names), chunks(), rows=rows)
    return stream
