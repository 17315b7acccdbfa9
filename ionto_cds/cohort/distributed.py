"""Screening on a Dask cluster: each Parquet partition a task, part files merged in order."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pandas as pd
from pyarrow import ArrowException  # type: ignore[import-untyped]

from ionto_cds.cohort.schema import read_headers
from ionto_cds.cohort.screen import (
    ScreenSummary,
    check_parquet_folder,
    ruleset_for,
    screen_frame,
    write_part,
)
from ionto_cds.engine.ruleset import RuleSet
from ionto_cds.errors import InputFileError


def _screen_partition(frame: pd.DataFrame, index: int, folder: str, rules: str | None,
                      out_suffix: str, source: str) -> tuple[int, ScreenSummary, bool]:
    """A Dask task: screen one partition and write its part files (row numbers local)."""
    chunk = screen_frame(frame.reset_index(drop=True), ruleset_for(rules), source)
    write_part(chunk, Path(folder), index, out_suffix)
    return index, chunk.summary, bool(len(chunk.problems))


def screen_dask(source: Path, folder: Path, rules: str | None, out_suffix: str,
                scheduler: str | None, progress: bool, rs: RuleSet, workers: int = 2
                ) -> tuple[ScreenSummary, list[tuple[int, Path, Path | None, Path | None, int]]]:
    """Screen every Parquet partition as a task on a Dask cluster: the scheduler at an address,
    else a local cluster of ``workers`` processes (one thread each)."""
    import dask.dataframe as dd
    from dask.distributed import Client, LocalCluster, as_completed
    from tqdm import tqdm  # type: ignore[import-untyped]

    if source.is_file() and source.suffix.lower() not in (".parquet", ".pq"):
        raise InputFileError(str(source), "--engine dask reads Parquet: a .parquet file or a "
                             "folder of them")
    check_parquet_folder(source)
    try:
        ddf = dd.read_parquet(str(source))
    except (OSError, ValueError, TypeError, ArrowException) as exc:
        raise InputFileError(str(source), f"not a readable Parquet dataset ({exc})") from None
    read_headers(ddf.columns, rs.catalog, str(source))
    cluster = None
    if scheduler:
        client = Client(scheduler)  # type: ignore[no-untyped-call]
    else:
        cluster = LocalCluster(n_workers=max(1, workers), threads_per_worker=1, processes=True,  # type: ignore[no-untyped-call]
                               dashboard_address=None, silence_logs=logging.ERROR)
        client = Client(cluster)  # type: ignore[no-untyped-call]
    summary = ScreenSummary()
    done: dict[int, tuple[ScreenSummary, bool]] = {}
    try:
        parts = ddf.to_delayed()
        futures = [
            client.submit(_screen_partition, client.compute(part), k, str(folder), rules,  # type: ignore[no-untyped-call]
                          out_suffix, str(source), pure=False)
            for k, part in enumerate(parts)
        ]
        bar = tqdm(total=len(futures), unit="partitions", desc="screening",
                   disable=not progress, file=sys.stderr)
        for future in as_completed(futures):  # type: ignore[no-untyped-call]
            index, part_summary, had = future.result()
            done[index] = (part_summary, had)
            bar.update(1)
        bar.close()
    finally:
        client.close()  # type: ignore[no-untyped-call]
        if cluster is not None:
            cluster.close()
    pieces = []
    offset = 0
    for k in sorted(done):
        part_summary, had = done[k]
        summary.add(part_summary)
        out = folder / f"out-{k:06d}{out_suffix}"
        err = folder / f"errors-{k:06d}.csv" if had else None
        bad = folder / f"quarantine-{k:06d}.csv" if had else None
        pieces.append((k, out, err, bad, offset))
        offset += part_summary.rows
    return summary, pieces
