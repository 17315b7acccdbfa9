"""`--engine dask` on a local cluster of worker processes: the rows pandas gives, from Parquet
partitions into one file or into partitioned Parquet."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ionto_cds.cli import main
from ionto_cds.cohort.files import screen_file
from ionto_cds.cohort.synthetic import fictional_cohort
from ionto_cds.engine.ruleset import default_ruleset
from ionto_cds.evaluation.frame_collect import RESULT_COLUMNS


def test_two_worker_processes_write_partitioned_parquet_equal_to_pandas(tmp_path: Path) -> None:
    rs = default_ruleset()
    cohort = fictional_cohort(rs.program, 2400, seed=13, unknown=0.05, yes=0.03)
    cohort.loc[[7, 1900], "age"] = np.array([300.0, -1.0])
    folder = tmp_path / "cohort"
    folder.mkdir()
    for k in range(4):
        cohort.iloc[600 * k:600 * (k + 1)].to_parquet(folder / f"part-{k}.parquet", index=False)
    screen_file(folder, tmp_path / "pandas.parquet", progress=False)
    out = tmp_path / "dask.parquet"
    report = screen_file(folder, out, engine="dask", workers=2, partitioned=True,
                         progress=False)
    assert sorted(p.name for p in out.iterdir()) == [f"part-{k:06d}.parquet" for k in range(4)]
    a, b = pd.read_parquet(tmp_path / "pandas.parquet"), pd.read_parquet(out)
    assert len(a) == len(b) == 2398
    for column in [*RESULT_COLUMNS, "age", "sex"]:
        assert a[column].astype(str).tolist() == b[column].astype(str).tolist()
    assert report.errors is not None
    assert pd.read_csv(report.errors)["row"].tolist() == [8, 1901]


def test_the_local_cluster_runs_worker_processes(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    rs = default_ruleset()
    cohort = fictional_cohort(rs.program, 400, seed=14)
    folder = tmp_path / "cohort"
    folder.mkdir()
    for k in range(4):
        cohort.iloc[100 * k:100 * (k + 1)].to_parquet(folder / f"p{k}.parquet", index=False)
    from dask.distributed import LocalCluster

    seen: list[object] = []
    original = LocalCluster.__init__

    def record(self: LocalCluster, *args: object, **kwargs: object) -> None:
        seen.append(kwargs)
        original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(LocalCluster, "__init__", record)
    assert main(["screen", str(folder), "-o", str(tmp_path / "o.parquet"), "--engine", "dask",
                 "--workers", "2", "--quiet"]) == 0
    assert seen and seen[0]["processes"] is True and seen[0]["n_workers"] == 2  # type: ignore[index]
    assert len(pd.read_parquet(tmp_path / "o.parquet")) == 400


def test_a_partitioned_output_needs_dask_and_a_new_folder(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = Path(__file__).resolve().parents[2] / "examples" / "cohort-small.csv"
    assert main(["screen", str(source), "-o", str(tmp_path / "o.parquet"), "--partitioned"]) == 2
    assert capsys.readouterr().err.endswith("a partitioned output is a folder of Parquet parts "
                                            "written by --engine dask: name it NAME.parquet\n")
