"""Cohort files streamed in chunks by pyarrow: the same rows, row numbers and refusals as the
exact reader, whatever the chunk boundaries; nothing written when a file is refused late."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
import pytest

from ionto_cds.cli import main
from ionto_cds.cohort import reader
from ionto_cds.cohort.files import screen_file
from ionto_cds.cohort.reader import ExactReadNeeded, open_cohort, read_cohort

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "cohort-small.csv"


def frames(path: Path, exact: bool) -> pd.DataFrame:
    stream = open_cohort(path, chunk_rows=7, exact=exact)
    found = pd.concat(list(stream.chunks), ignore_index=True)
    return found.astype("str")


def test_fast_and_exact_readers_read_the_same_cells(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reader, "CSV_BLOCK_BYTES", 700)  # many blocks, cut at row ends
    fast, exact = frames(EXAMPLE, exact=False), frames(EXAMPLE, exact=True)
    assert len(fast) == 30 and fast.equals(exact)
    stream = open_cohort(EXAMPLE)
    first = next(stream.chunks)
    assert isinstance(first["sex"].dtype, pd.CategoricalDtype)  # repeated texts: categories
    assert not isinstance(first["patient_id"].dtype, pd.CategoricalDtype)


def test_parquet_reads_repeated_texts_as_categories_and_the_patient_id_as_text(
        tmp_path: Path) -> None:
    source = tmp_path / "cohort.parquet"
    read_cohort(EXAMPLE).to_parquet(source)
    first = next(open_cohort(source).chunks)
    assert isinstance(first["sex"].dtype, pd.CategoricalDtype)
    assert not isinstance(first["patient_id"].dtype, pd.CategoricalDtype)  # one text per row
    assert first["patient_id"].tolist() == read_cohort(EXAMPLE)["patient_id"].tolist()[:len(
        first)]


def test_quoted_cells_with_separators_and_newlines_cross_block_ends(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reader, "CSV_BLOCK_BYTES", 64)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["patient_id", "age", "sex"])
    for i in range(40):
        writer.writerow([f'P"{i}",\nsecond line' if i % 3 == 0 else f"P{i}", " 30", "female"])
    path = tmp_path / "quoted.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    fast, exact = frames(path, exact=False), frames(path, exact=True)
    assert fast.equals(exact)
    assert fast["patient_id"][0] == 'P"0",\nsecond line' and fast["age"][0] == "30"


@pytest.mark.parametrize("text", [
    "patient_id,age\nP1,30\n\nP2,40\n",  # a blank line between rows
    "patient_id,age\nP1,30\nP2,40,\n",  # a row with one cell too many
    "patient_id,age\nP1,30\nP2\nP3,50\n",  # a row with one cell too few
    "patient_id,age\nP1,30\n   \nP2,40\n",  # a line of spaces
    "patient_id\nP1\n",  # one column: a blank line would be a row
    "patient_id,age\rP1,30\rP2,40\r",  # line ends of \r alone
])
def test_an_irregular_file_goes_to_the_exact_reader(text: str, tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ExactReadNeeded):
        list(open_cohort(path).chunks)


def test_text_checks_look_into_the_dictionary_of_repeated_texts() -> None:
    import pyarrow as pa

    sex = pa.array(["female", " male", "female"]).dictionary_encode()
    frame = reader._text_frame(pa.table({"patient_id": ["P1", " P2", "P3"], "sex": sex}))
    assert frame["sex"].tolist() == ["female", "male", "female"]  # spaces after a comma
    assert isinstance(frame["sex"].dtype, pd.CategoricalDtype)
    assert frame["patient_id"].tolist() == ["P1", "P2", "P3"]
    long = pa.array(["female", "x" * (reader.FIELD_LIMIT + 1)]).dictionary_encode()
    with pytest.raises(ExactReadNeeded):  # over the csv module's limit: the exact reader
        reader._text_frame(pa.table({"sex": long}))


def test_a_pipe_is_refused_not_waited_on(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    import os

    pipe = tmp_path / "cohort.csv"
    os.mkfifo(pipe)  # nothing writes to it: reading it would wait for ever
    assert main(["screen", str(pipe), "-o", str(tmp_path / "o.csv"), "--quiet"]) == 2
    assert "not a regular file" in capsys.readouterr().err


def test_blank_lines_at_the_end_stay_on_the_fast_path(tmp_path: Path) -> None:
    path = tmp_path / "end.csv"
    path.write_text("patient_id,age\r\nP1,30\r\nP2,40\r\n\r\n\r\n", encoding="utf-8")
    assert frames(path, exact=False)["age"].tolist() == ["30", "40"]


def test_a_refusal_late_in_the_file_leaves_no_output(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(reader, "CSV_BLOCK_BYTES", 512)
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    source = tmp_path / "late.csv"
    source.write_text("\n".join([*lines, lines[-1] + ","]) + "\n", encoding="utf-8")
    assert main(["screen", str(source), "-o", str(tmp_path / "o.parquet"), "-q"]) == 2
    assert capsys.readouterr().err == (
        f"ionto-cds screen: {source}: rows do not match the header's 48 columns: line 32 has 49 "
        "cells (a separator at the end?): give every row one cell per column\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["late.csv"]


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_chunks_give_the_rows_and_row_numbers_of_one_pass(suffix: str, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    monkeypatch.setattr(reader, "CSV_BLOCK_BYTES", 900)
    source = tmp_path / f"cohort{suffix}"
    raw = read_cohort(EXAMPLE)
    raw.to_csv(source, index=False) if suffix == ".csv" else raw.to_parquet(source)
    whole = screen_file(source, tmp_path / "whole.csv", progress=False)
    parts = screen_file(source, tmp_path / "parts.csv", progress=False, chunk_rows=4)
    read = {name: pd.read_csv(tmp_path / name, dtype=str, keep_default_na=False)
            for name in ("whole.csv", "parts.csv", "whole.csv.errors.csv",
                         "parts.csv.errors.csv")}
    assert read["whole.csv"].equals(read["parts.csv"]) and len(read["whole.csv"]) == 26
    assert read["whole.csv.errors.csv"].equals(read["parts.csv.errors.csv"])
    assert read["parts.csv.errors.csv"]["row"].tolist() == ["12", "15", "18", "22", "22"]
    assert whole.summary == parts.summary and parts.problems == 5


def test_a_parquet_result_keeps_repeated_texts_dictionary_encoded(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    screen_file(EXAMPLE, tmp_path / "o.parquet", progress=False)
    schema = pq.read_schema(tmp_path / "o.parquet")
    encoded = "dictionary<values=string, indices=int32, ordered=0>"
    assert str(schema.field("sex").type) == encoded  # an input column
    assert str(schema.field("decision").type) == encoded  # a result column
    assert str(schema.field("patient_id").type) == "string"  # one text per row: left plain


def test_quiet_leaves_stderr_empty(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["screen", str(EXAMPLE), "-o", str(tmp_path / "o.csv"), "--quiet"]) == 0
    assert capsys.readouterr().err == ""


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("quiet", [False, True])
def test_a_progress_bar_in_a_terminal_with_rows_per_second(
        quiet: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ionto_cds.cohort import files

    monkeypatch.setattr(files, "PROGRESS_DELAY", 0.0)
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    screen_file(EXAMPLE, tmp_path / "o.csv", progress=not quiet, chunk_rows=10)
    shown = terminal.getvalue()
    if quiet:
        assert shown == ""
    else:
        assert "screening: 100%" in shown and "30.0/30.0" in shown and "rows/s" in shown
