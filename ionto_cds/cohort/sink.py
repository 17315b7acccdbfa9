"""Screening results written chunk by chunk: pyarrow's CSV and Parquet writers into a temporary
file beside the target, moved into place only when the whole cohort is screened (a refusal
half-way leaves no output behind)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import pandas as pd


def _needs_quotes(column: Any) -> bool:
    import pyarrow as pa  # type: ignore[import-untyped]
    import pyarrow.compute as pc  # type: ignore[import-untyped]

    values = column
    if pa.types.is_dictionary(column.type):
        values = pa.concat_arrays([chunk.dictionary for chunk in column.chunks]) \
            if column.num_chunks else pa.array([], pa.string())
    return bool(pc.any(pc.match_substring_regex(values, '[",\r\n]')).as_py())


def _temporary(target: Path) -> Path:
    return target.with_name(f".{target.name}.{os.getpid()}.part")


class TableSink:
    """The results table (CSV or Parquet by suffix); text columns keep their dictionary
    encoding in Parquet, whose column statistics are written for the ``statistics`` columns."""

    def __init__(self, target: Path, statistics: frozenset[str] = frozenset()) -> None:
        self.target = target
        self.temporary = _temporary(target)
        self.statistics = statistics
        self.parquet = target.suffix.lower() in (".parquet", ".pq")
        self.schema: Any = None
        self._writer: Any = None
        self.rows = 0

    def _arrow(self, frame: pd.DataFrame) -> Any:
        import pyarrow as pa

        if self.schema is not None:
            return pa.Table.from_pandas(frame, schema=self.schema, preserve_index=False)
        fields = []
        for name in frame.columns:
            array = pa.array(frame[name], from_pandas=True)
            kind = array.type
            if pa.types.is_dictionary(kind):
                kind = pa.dictionary(pa.int32(), pa.string())
            elif pa.types.is_large_string(kind) or pa.types.is_null(kind):
                kind = pa.string()
            fields.append(pa.field(str(name), kind))
        self.schema = pa.schema(fields)
        return pa.Table.from_pandas(frame, schema=self.schema, preserve_index=False)

    def write(self, frame: pd.DataFrame) -> None:
        """Append a chunk of rows (the first chunk fixes the columns and their types)."""
        table = self._arrow(frame)
        if self.parquet:
            if self._writer is None:
                import pyarrow.parquet as pq  # type: ignore[import-untyped]

                # Column statistics (for readers that skip row groups) on the result columns
                # and the patient id only: computing them for every input column costs a
                # fifth of the writing.
                stats = [n for n in self.schema.names if n in self.statistics]
                self._writer = pq.ParquetWriter(self.temporary, self.schema,
                                                write_statistics=stats or False)
            self._writer.write_table(table)
        else:
            self._write_csv(table)
        self.rows += len(frame)

    def _write_csv(self, table: Any) -> None:
        """CSV rows quoted only when a text in the chunk needs it (pyarrow would quote every
        text: a third more bytes for a cohort)."""
        import pyarrow as pa
        import pyarrow.csv as pa_csv  # type: ignore[import-untyped]

        if self._writer is None:
            self._writer = self.temporary.open("wb")
        needs = any(_needs_quotes(column) for column in table.columns
                    if pa.types.is_string(column.type) or pa.types.is_dictionary(column.type))
        options = pa_csv.WriteOptions(include_header=self.rows == 0,
                                      quoting_style="needed" if needs else "none")
        # texts decoded once per column: the CSV writer decodes a dictionary batch by batch,
        # which costs more than half again the writing
        plain = pa.table([c.cast(pa.string()) if pa.types.is_dictionary(c.type) else c
                          for c in table.columns], names=table.column_names)
        pa_csv.write_csv(plain, self._writer, write_options=options)

    def commit(self) -> None:
        """Close the file and move it into place."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        os.replace(self.temporary, self.target)

    def discard(self) -> None:
        """Close and remove the temporary file; the target is left as it was."""
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.close()
            self._writer = None
        self.temporary.unlink(missing_ok=True)


class ReportSink:
    """The error table or the quarantine (CSV, pandas: few rows, values of any kind), written
    only when there is something to report."""

    def __init__(self, target: Path) -> None:
        self.target = target
        self.temporary = _temporary(target)
        self.rows = 0

    def write(self, frame: pd.DataFrame) -> None:
        if len(frame):
            frame.to_csv(self.temporary, index=False, mode="a", header=self.rows == 0)
            self.rows += len(frame)

    def commit(self) -> Path | None:
        """Move the file into place; None when nothing was reported."""
        if not self.rows:
            return None
        os.replace(self.temporary, self.target)
        return self.target

    def discard(self) -> None:
        self.temporary.unlink(missing_ok=True)
        self.rows = 0
