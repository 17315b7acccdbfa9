"""`ionto-cds screen` on files: a cohort file (or a folder of Parquet) screened into one output,
with the error table and the quarantine beside it."""

from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ionto_cds.cohort.distributed import screen_dask
from ionto_cds.cohort.overlap import WriteBehind, read_ahead
from ionto_cds.cohort.reader import CohortStream, ExactReadNeeded, open_cohort
from ionto_cds.cohort.schema import ID_COLUMN, read_headers
from ionto_cds.cohort.screen import ScreenSummary, ruleset_for, screen_frame
from ionto_cds.cohort.sink import ReportSink, TableSink
from ionto_cds.cohort.validate import PROBLEM_COLUMNS, SchemaVerdicts
from ionto_cds.engine.ruleset import RuleSet
from ionto_cds.errors import InputFileError
from ionto_cds.evaluation.frame_collect import RESULT_COLUMNS

_STATISTICS = frozenset((*RESULT_COLUMNS, ID_COLUMN))
"""The output columns whose Parquet statistics are written (those a reader filters on)."""

PROGRESS_DELAY = 1.0
"""Seconds before the progress bar shows (in a terminal; never with ``--quiet``)."""


def _suffix_ok(path: Path, what: str) -> None:
    if path.suffix.lower() not in (".csv", ".parquet", ".pq"):
        raise InputFileError(str(path), f"{what} must be a .csv or .parquet file")


@dataclass
class ScreenReport:
    """What `ionto-cds screen` did: counts, and the files it wrote."""

    summary: ScreenSummary
    output: Path
    errors: Path | None
    quarantine: Path | None
    problems: int


def _merge_parts(parts: list[Path], target: Path) -> None:
    """Concatenate part files (same columns) into one CSV or Parquet file, in order."""
    import pyarrow as pa_arrow  # type: ignore[import-untyped]
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    if target.suffix.lower() in (".parquet", ".pq"):
        writer: Any = None
        schema: Any = None
        try:
            for part in parts:
                table = pq.read_table(part)
                if writer is None:
                    schema = table.schema
                    writer = pq.ParquetWriter(target, schema)
                else:
                    table = table.cast(schema) if table.schema != schema else table
                writer.write_table(table)
            if writer is None:
                pq.write_table(pa_arrow.table({}), target)
        finally:
            if writer is not None:
                writer.close()
        return
    with target.open("w", encoding="utf-8", newline="") as out:
        for k, part in enumerate(parts):
            with part.open(encoding="utf-8") as src:
                header = src.readline()
                if k == 0:
                    out.write(header)
                for line in src:
                    out.write(line)


def _move_parts(parts: list[Path], target: Path) -> None:
    """The part files as the folder ``target`` (part-000000.parquet, ... in input order)."""
    target.mkdir(exist_ok=True)
    for k, part in enumerate(parts):
        part.replace(target / f"part-{k:06d}{part.suffix}")


def _offset_rows(parts: list[tuple[Path | None, int]], target: Path, header: tuple[str, ...]
                 ) -> None:
    """Concatenate local-row CSV parts into one file with global row numbers."""
    frames = []
    for part, offset in parts:
        if part is None:
            continue
        frame = pd.read_csv(part, dtype=str, keep_default_na=False)
        frame["row"] = frame["row"].astype(int) + offset
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=header)
    table.to_csv(target, index=False)


def _screen_chunks(stream: CohortStream, rs: RuleSet, sinks: tuple[TableSink, ReportSink,
                   ReportSink], progress: bool) -> tuple[ScreenSummary, int]:
    """Screen every chunk of the stream into the sinks; the summary and the bad-cell count."""
    from tqdm import tqdm  # type: ignore[import-untyped]

    output, errors, quarantine = sinks
    read_headers(stream.columns, rs.catalog, str(stream.path))
    summary, problems, done = ScreenSummary(), 0, 0
    behind: WriteBehind[pd.DataFrame] = WriteBehind(output.write)
    verdicts = SchemaVerdicts(rs.catalog)
    # shown in a terminal only, and only on runs longer than a second
    with tqdm(total=stream.estimate(0), unit="rows", unit_scale=True, desc="screening",
              disable=None if progress else True, file=sys.stderr, delay=PROGRESS_DELAY,
              mininterval=0.5) as bar:
        finished = False
        try:
            # CSV text is parsed (into a frame) on the reading thread while a chunk is
            # screened; Parquet reads its next row group ahead itself (see the reader).
            chunks = read_ahead(stream.chunks) if stream.text else stream.chunks
            for raw in chunks:
                chunk = screen_frame(raw, rs, str(stream.path), done + 1, verdicts)
                behind.write(chunk.output)
                errors.write(chunk.problems)
                quarantine.write(chunk.quarantine)
                summary.add(chunk.summary)
                problems += len(chunk.problems)
                done += len(raw)
                bar.total = stream.estimate(done)
                bar.update(len(raw))
            finished = True
        finally:
            if finished:
                behind.finish()
            else:  # the error that stopped the screening is the one to tell
                with contextlib.suppress(OSError, ValueError):
                    behind.finish()
    if done == 0:  # a header and no rows: an empty result with every column
        empty = pd.DataFrame({c: pd.Series([], dtype="str") for c in stream.columns})
        chunk = screen_frame(empty, rs, str(stream.path))
        output.write(chunk.output)
        summary.add(chunk.summary)
    return summary, problems


def _screen_stream(source: Path, rs: RuleSet, output: Path, errors: Path, quarantine: Path,
                   progress: bool, chunk_rows: int) -> ScreenReport:
    """Read, screen and write chunk by chunk in bounded memory; the files are moved into place
    only when the whole cohort is screened."""
    sinks = (TableSink(output, _STATISTICS), ReportSink(errors), ReportSink(quarantine))
    try:
        try:
            summary, problems = _screen_chunks(open_cohort(source, chunk_rows), rs, sinks,
                                               progress)
        except ExactReadNeeded:  # something irregular: read it again, exactly
            for sink in sinks:
                sink.discard()
            sinks = (TableSink(output, _STATISTICS), ReportSink(errors), ReportSink(quarantine))
            summary, problems = _screen_chunks(open_cohort(source, chunk_rows, exact=True),
                                               rs, sinks, progress)
        sinks[0].commit()
        wrote_errors, wrote_quarantine = sinks[1].commit(), sinks[2].commit()
    finally:
        for sink in sinks:
            sink.discard()
    return ScreenReport(summary, output, wrote_errors, wrote_quarantine, problems)


def check_outputs(source: Path, outputs: dict[str, Path]) -> None:
    """Refuse before anything is read or written: an output that is the input, two outputs
    on one file, or an output in a folder that does not exist."""
    seen: dict[Path, str] = {source.resolve(): "the cohort"}
    for what, path in outputs.items():
        where = path.resolve()
        if where in seen:
            raise InputFileError(str(path), f"{what} would overwrite {seen[where]}: choose "
                                 "another file name")
        seen[where] = what
        if not where.parent.is_dir():
            raise InputFileError(str(path), f"the folder {path.parent} does not exist: create "
                                 "it or choose another")


def screen_file(source: Path, output: Path, rules: str | None = None, engine: str = "pandas",
                scheduler: str | None = None, errors: Path | None = None,
                quarantine: Path | None = None, progress: bool = True,
                chunk_rows: int = 200_000, plot: Path | None = None, workers: int = 2,
                partitioned: bool = False, report: Path | None = None) -> ScreenReport:
    """Screen a cohort file (or a folder of Parquet files) into ``output``.

    Bad cells go to ``errors`` (default: OUTPUT.errors.csv) and their rows to ``quarantine``
    (default: OUTPUT.quarantine.csv); both are written only when there are bad cells. No
    output may be the input or another output, and each goes into an existing folder
    (``plot`` and ``report`` are only checked here: the caller writes them). With
    ``engine="dask"`` the work runs on a local cluster of ``workers`` processes or at
    ``scheduler``; ``partitioned`` writes ``output`` as a folder of Parquet parts, one per
    input partition.
    """
    import shutil
    import tempfile

    _suffix_ok(output, "the output")
    if partitioned and (engine != "dask" or output.suffix.lower() not in (".parquet", ".pq")):
        raise InputFileError(str(output), "a partitioned output is a folder of Parquet parts "
                             "written by --engine dask: name it NAME.parquet")
    if partitioned and output.exists() and (not output.is_dir() or any(output.iterdir())):
        raise InputFileError(str(output), "a partitioned output goes into a new or empty "
                             "folder: choose another name")
    if report is not None and report.suffix.lower() not in (".html", ".htm"):
        raise InputFileError(str(report), "the report must be an .html file")
    if not source.exists():
        raise InputFileError(str(source), "no such file")
    if not source.is_dir():
        _suffix_ok(source, "the cohort")
    errors = errors or output.with_name(output.name + ".errors.csv")
    quarantine = quarantine or output.with_name(output.name + ".quarantine.csv")
    check_outputs(source, {"the output": output, "the error table": errors,
                           "the quarantine file": quarantine,
                           **({"the plot": plot} if plot is not None else {}),
                           **({"the report": report} if report is not None else {})})
    rs = ruleset_for(rules)
    if engine != "dask":
        return _screen_stream(source, rs, output, errors, quarantine, progress, chunk_rows)
    folder = Path(tempfile.mkdtemp(prefix=output.name + ".parts-", dir=output.parent))
    try:
        summary, pieces = screen_dask(source, folder, rules, output.suffix, scheduler,
                                      progress, rs, workers)
        pieces.sort(key=lambda p: p[0])
        if partitioned:
            _move_parts([p[1] for p in pieces], output)
        else:
            _merge_parts([p[1] for p in pieces], output)
        had_problems = any(p[2] is not None for p in pieces)
        if had_problems:
            _offset_rows([(p[2], p[4]) for p in pieces], errors, PROBLEM_COLUMNS)
            _offset_rows([(p[3], p[4]) for p in pieces], quarantine, ("row",))
        problems = sum(len(pd.read_csv(p[2])) for p in pieces if p[2] is not None)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return ScreenReport(summary, output, errors if had_problems else None,
                        quarantine if had_problems else None, problems)
