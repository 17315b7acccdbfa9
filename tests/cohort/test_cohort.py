"""Cohort schema, cell-by-cell validation, quarantine, the screen command, Dask and notebook 04."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import executed_notebook, has_output

from ionto_cds import assess
from ionto_cds.cli import main
from ionto_cds.cohort.files import screen_file
from ionto_cds.cohort.schema import ID_COLUMN, cohort_schema
from ionto_cds.cohort.screen import read_cohort, screen_frame, summarise
from ionto_cds.cohort.synthetic import fictional_cohort
from ionto_cds.cohort.validate import SchemaVerdicts, validate_cohort
from ionto_cds.engine.assess import assessment_row
from ionto_cds.engine.ruleset import default_ruleset
from ionto_cds.errors import InputFileError
from ionto_cds.evaluation.frame_collect import RESULT_COLUMNS
from ionto_cds.language.model import FactType

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = default_ruleset().program
EXAMPLE = ROOT / "examples" / "cohort-small.csv"


def test_schema_has_one_nullable_column_per_fact() -> None:
    catalog = default_ruleset().catalog
    schema = cohort_schema(catalog)
    assert set(schema.columns) == {f.name for f in catalog.asked} | {ID_COLUMN}
    assert "current_path" not in schema.columns  # derived, never answered
    assert all(col.nullable and not col.required for col in schema.columns.values())
    kinds = {FactType.BOOL: "boolean", FactType.INT: "Int64", FactType.QUANTITY: "float64"}
    for fact in catalog:
        if fact.type in kinds:
            assert str(schema.columns[fact.name].dtype) == kinds[fact.type]
    assert [c.error for c in schema.columns["age"].checks] == [
        "out of range (0 year to 120 year)"]
    assert "female" in str(schema.columns["sex"].checks[0].error)


def test_every_bad_cell_is_reported_with_row_column_value_and_why() -> None:
    raw = pd.DataFrame({
        "age": ["34", "130", "", "2 year"],
        "sex": ["female", "femal", "male", "male"],
        "pregnant": ["no", "", "yes", ""],
        "weight": ["62 kg", "70", "62 cm", ""],
        "hdss": ["3", "", "", "9"],
    })
    checked = validate_cohort(raw, PROGRAM)
    assert checked.problems.to_dict("records") == [
        {"row": 2, "column": "sex", "value": "femal",
         "why": "'femal' is not one of: female, male, other (did you mean 'female'?)"},
        {"row": 2, "column": "age", "value": "130", "why": "out of range (0 year to 120 year)"},
        {"row": 3, "column": "weight", "value": "62 cm",
         "why": "expected a mass (kg), got '62 cm' (a length)"},
        {"row": 4, "column": "hdss", "value": "9", "why": "out of range (1 to 4)"},
    ]
    assert checked.good.tolist() == [True, False, False, False]
    quarantine = checked.quarantine
    assert quarantine["row"].tolist() == [2, 3, 4]
    assert quarantine["age"].tolist() == ["130", "", "2 year"]
    assert "out of range" in checked.error_table()


def _problems(checked) -> list[tuple[int, str, str]]:
    return [(p["row"], p["column"], p["why"]) for p in checked.problems.to_dict("records")]


@pytest.mark.parametrize("limit", [SchemaVerdicts.LIMIT, 2])
def test_schema_verdicts_carried_across_chunks_give_each_chunk_its_own_problems(
        limit: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(SchemaVerdicts, "LIMIT", limit)
    chunks = [pd.DataFrame({"age": ["34", "130", "7"], "hdss": ["3", "9", ""]}),
              pd.DataFrame({"age": ["130", "34", "150"], "hdss": ["9", "2", "3"]})]
    verdicts = SchemaVerdicts(PROGRAM.catalog)
    checked: list[int] = []
    validate = verdicts.schema.validate

    def spy(frame: pd.DataFrame, **kwargs: object) -> pd.DataFrame:
        checked.append(int(frame.count().sum()))  # the values the schema is run on
        return validate(frame, **kwargs)

    monkeypatch.setattr(verdicts.schema, "validate", spy)
    first = 1
    for chunk in chunks:
        alone = validate_cohort(chunk, PROGRAM, first_row=first)
        carried = validate_cohort(chunk, PROGRAM, first_row=first, verdicts=verdicts)
        assert _problems(carried) == _problems(alone)
        assert carried.good.tolist() == alone.good.tolist()
        first += len(chunk)
    assert _problems(carried) == [(4, "age", "out of range (0 year to 120 year)"),
                                  (4, "hdss", "out of range (1 to 4)"),
                                  (6, "age", "out of range (0 year to 120 year)")]
    # the second chunk's schema run sees only the values the first did not have
    assert checked == ([5, 2] if limit > 2 else [5, 6])


def test_yes_to_a_question_that_does_not_apply_is_quarantined() -> None:
    raw = pd.DataFrame({"sex": ["male", "female"], "pregnant": ["yes", "yes"]})
    checked = validate_cohort(raw, PROGRAM)
    assert checked.problems[["row", "column"]].values.tolist() == [[1, "pregnant"]]
    assert "does not apply (asked only when sex ≠ male and age ≥ 12 year" in checked.problems[
        "why"][0]
    assert checked.good.tolist() == [False, True]


def test_header_units_and_strings_with_units_convert_to_default_units() -> None:
    raw = pd.DataFrame({"age[month]": ["18", "30 year", ""], "weight[lb]": ["150", "", "62 kg"],
                        "electrode_area": ["6", "4 cm^2", ""]})
    checked = validate_cohort(raw, PROGRAM)
    assert checked.problems.empty
    canonical = checked.canonical
    assert canonical["age"].tolist()[:2] == [1.5, 30.0]
    assert canonical["weight"][0] == pytest.approx(68.0388555)
    assert canonical["weight"][2] == 62.0
    assert canonical["electrode_area"].tolist()[:2] == [6.0, 4.0]


def test_lists_and_booleans_read_as_in_single_answers() -> None:
    raw = pd.DataFrame({"drug_allergies": ["lidocaine;dexamethasone", "none", "", "aspirin"],
                        "pacemaker": ["Yes", "false", "", "no"]})
    checked = validate_cohort(raw, PROGRAM)
    assert checked.problems[["row", "column"]].values.tolist() == [[4, "drug_allergies"]]
    assert checked.canonical["drug_allergies"].tolist()[:2] == ["dexamethasone;lidocaine", ""]
    assert pd.isna(checked.canonical["drug_allergies"][2])


def test_unknown_and_doubled_columns_are_unusable() -> None:
    with pytest.raises(InputFileError, match=r"unknown column 'pacemakr' \(did you mean "
                                             r"'pacemaker'\?\)"):
        validate_cohort(pd.DataFrame({"pacemakr": ["yes"]}), PROGRAM)
    with pytest.raises(InputFileError, match="both answer 'age'"):
        validate_cohort(pd.DataFrame({"age": ["3"], "age[month]": ["40"]}), PROGRAM)
    with pytest.raises(InputFileError, match="expected a unit of a mass"):
        validate_cohort(pd.DataFrame({"weight[cm]": ["3"]}), PROGRAM)


def test_screened_rows_equal_single_assessments_of_the_same_text() -> None:
    rs = default_ruleset()
    raw = read_cohort(EXAMPLE)
    chunk = screen_frame(raw, rs)
    good = raw.loc[~raw.index.isin(chunk.quarantine["row"] - 1)].reset_index(drop=True)
    assert len(chunk.output) == len(good) == len(raw) - 4
    assert chunk.output[ID_COLUMN].tolist() == good[ID_COLUMN].tolist()
    for i, row in good.iterrows():
        answers = {k: v for k, v in row.items() if k != ID_COLUMN and v != ""}
        expected = assessment_row(assess(answers, rs))
        assert tuple(chunk.output.loc[i, list(RESULT_COLUMNS)]) == expected


def test_summary_counts_each_row_once_by_decision_protocol_and_finding() -> None:
    chunk = screen_frame(read_cohort(EXAMPLE), default_ruleset())
    output = chunk.output
    summary = chunk.summary
    decisions = output["decision"].astype(str)
    protocols = output["protocol"].astype(str)
    assert summary.decisions == Counter(decisions.tolist())
    assert summary.decision_protocols == Counter(zip(decisions, protocols, strict=True))
    assert summary.findings == Counter(f for text in output["findings"].astype(str)
                                       for f in text.split(";") if f)
    # the same counts from plain texts, where a missing protocol counts as none ("")
    texts = output[list(RESULT_COLUMNS)].astype(object)
    texts.loc[np.flatnonzero(protocols == "")[::2], "protocol"] = None  # every other one
    again = summarise(texts, summary.rows, summary.quarantined)
    assert again == summary and sum(again.decision_protocols.values()) == len(output)


def test_screen_command_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out.csv"
    plot = tmp_path / "plot.svg"
    code = main(["screen", str(EXAMPLE), "-o", str(out), "--plot", str(plot),
                 "--errors", str(tmp_path / "err.csv"), "--quarantine", str(tmp_path / "q.csv")])
    printed = capsys.readouterr().out
    assert code == 0
    assert "30 rows: 26 screened, 4 quarantined" in printed
    assert "4 rows quarantined (5 bad cells)" in printed
    result = pd.read_csv(out, dtype=str, keep_default_na=False)
    raw = read_cohort(EXAMPLE)
    assert list(result.columns) == [*raw.columns, *RESULT_COLUMNS]
    errors = pd.read_csv(tmp_path / "err.csv")
    assert errors["row"].tolist() == [12, 15, 18, 22, 22]
    assert pd.read_csv(tmp_path / "q.csv")["patient_id"].tolist() == ["P012", "P015", "P018",
                                                                     "P022"]
    assert plot.read_text().lstrip().startswith("<?xml")


@pytest.mark.parametrize(("args", "message"), [
    (["missing.csv"], "missing.csv: no such file"),
    ([str(ROOT / "README.md")], "must be a .csv or .parquet file"),
])
def test_screen_command_unusable_input(args: list[str], message: str, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["screen", *args, "-o", str(tmp_path / "o.csv")]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def _lines() -> list[str]:
    return EXAMPLE.read_text(encoding="utf-8").splitlines()


@pytest.mark.parametrize(("text", "message"), [
    ("\n".join([_lines()[0], *(ln + "," for ln in _lines()[1:])]) + "\n",
     "rows do not match the header's 48 columns: line 2 has 49 cells (a separator at the "
     "end?); line 3 has 49 cells (a separator at the end?); line 4 has 49 cells (a separator "
     "at the end?), and 27 more: give every row one cell per column"),
    ("\n".join([*_lines()[:4], "", *_lines()[4:]]) + "\n",
     "rows do not match the header's 48 columns: line 5 is blank: give every row one cell per "
     "column"),
    ("\n".join([_lines()[0].replace("age", "sex", 1), *_lines()[1:]]) + "\n",
     "the header names a column twice: 'sex'"),
    ("\n".join([*_lines()[:3], _lines()[3].replace("P003", "P" + "x" * 200_000, 1),
               *_lines()[4:]]) + "\n",
     "line 4: not readable as CSV (field larger than field limit (131072)): a cell over "
     "131,072 characters, or a stray quote"),
])
def test_a_cohort_whose_rows_do_not_fit_its_header_is_refused(
        text: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "cohort.csv"
    source.write_text(text, encoding="utf-8")
    assert main(["screen", str(source), "-o", str(tmp_path / "o.csv")]) == 2
    assert capsys.readouterr().err == f"ionto-cds screen: {source}: {message}\n"
    assert not (tmp_path / "o.csv").exists()


def test_parquet_list_columns_are_refused_and_uint64_cells_range_checked(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = read_cohort(EXAMPLE)
    listed = raw.assign(age=[[1, 2]] * len(raw))
    listed.to_parquet(tmp_path / "list.parquet")
    assert main(["screen", str(tmp_path / "list.parquet"), "-o", str(tmp_path / "o.csv")]) == 2
    assert capsys.readouterr().err.endswith(
        "list.parquet: column 'age' holds lists: write one text, number or yes/no value per cell "
        "(a list as text separated by ';')\n")
    huge = raw.assign(hdss=np.full(len(raw), 2**63 + 5, dtype=np.uint64))
    huge.to_parquet(tmp_path / "u64.parquet")
    report = screen_file(tmp_path / "u64.parquet", tmp_path / "o.csv", progress=False)
    assert (report.summary.quarantined, report.summary.rows) == (30, 30)
    errors = pd.read_csv(tmp_path / "o.csv.errors.csv", dtype=str)
    assert set(errors[errors["column"] == "hdss"]["value"]) == {str(2**63 + 5)}


@pytest.mark.parametrize("engine", ["pandas", "dask"])
def test_a_folder_of_parts_that_do_not_match_is_refused(engine: str, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    raw = read_cohort(EXAMPLE)
    folder = tmp_path / "parts"
    folder.mkdir()
    raw.iloc[:15].to_parquet(folder / "a.parquet")
    other = raw.iloc[15:].drop(columns=["sex"])
    other["age"] = pd.to_numeric(other["age"], errors="coerce")
    other.to_parquet(folder / "b.parquet")
    args = ["screen", str(folder), "-o", str(tmp_path / "o.parquet"), "--engine", engine]
    assert main(args) == 2
    assert capsys.readouterr().err.endswith(
        "the parts do not share one set of columns: b.parquet lacks 'sex'; holds another kind "
        "of value in 'age' (compared with a.parquet): write every part with the same columns\n")
    (folder / "b.parquet").unlink()
    (folder / "notes.txt").write_text("x")
    assert main(args) == 2
    assert "the folder holds files that are not Parquet: 'notes.txt'" in capsys.readouterr().err


def test_blank_lines_at_the_end_are_not_rows(tmp_path: Path) -> None:
    source = tmp_path / "cohort.csv"
    source.write_text(EXAMPLE.read_text(encoding="utf-8") + "\n\n", encoding="utf-8")
    report = screen_file(source, tmp_path / "o.csv", progress=False)
    assert (report.summary.rows, report.summary.screened + report.summary.quarantined) == (30, 30)


def test_screen_never_overwrites_its_input_or_writes_into_a_missing_folder(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "cohort.csv"
    source.write_bytes(EXAMPLE.read_bytes())
    assert main(["screen", str(source), "-o", str(source)]) == 2
    assert capsys.readouterr().err == (f"ionto-cds screen: {source}: the output would overwrite "
                                       "the cohort: choose another file name\n")
    assert source.read_bytes() == EXAMPLE.read_bytes()
    for args in (["-o", str(tmp_path / "nowhere" / "o.csv")],
                 ["-o", str(tmp_path / "o.csv"), "--plot", str(tmp_path / "no" / "p.png")]):
        assert main(["screen", str(source), *args]) == 2
        assert "does not exist: create it or choose another" in capsys.readouterr().err
    assert not (tmp_path / "o.csv").exists()


def test_screen_command_unknown_column(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                       ) -> None:
    cohort = tmp_path / "c.csv"
    cohort.write_text("age,pacemakr\n3,yes\n")
    assert main(["screen", str(cohort), "-o", str(tmp_path / "o.csv")]) == 2
    assert "unknown column 'pacemakr' (did you mean 'pacemaker'?)" in capsys.readouterr().err


def test_dask_equals_pandas_on_parquet_files(tmp_path: Path) -> None:
    rs = default_ruleset()
    cohort = fictional_cohort(rs.program, 3000, seed=11, unknown=0.05, yes=0.03)
    cohort.loc[[5, 2100], "age"] = np.array([300.0, -1.0])  # two bad rows, two partitions
    folder = tmp_path / "cohort"
    folder.mkdir()
    for k, start in enumerate((0, 1000, 2200)):
        end = {0: 1000, 1: 2200, 2: 3000}[k]
        cohort.iloc[start:end].to_parquet(folder / f"part-{k}.parquet", index=False)
    single = tmp_path / "all.parquet"
    cohort.to_parquet(single, index=False)
    with_pandas = screen_file(single, tmp_path / "pandas.parquet", progress=False)
    with_dask = screen_file(folder, tmp_path / "dask.parquet", engine="dask", progress=False)
    a = pd.read_parquet(tmp_path / "pandas.parquet")
    b = pd.read_parquet(tmp_path / "dask.parquet")
    assert len(a) == len(b) == 2998
    for column in RESULT_COLUMNS:
        assert a[column].tolist() == b[column].tolist()
    assert a["age"].equals(b["age"])
    assert with_dask.summary.decisions == with_pandas.summary.decisions
    assert with_dask.errors is not None
    assert pd.read_csv(with_dask.errors)["row"].tolist() == [6, 2101]


@pytest.mark.notebook
def test_cohort_notebook_plots_the_screen() -> None:
    outputs, _home = executed_notebook("04_cohort_screening.ipynb")
    assert not [o for o in outputs if o.output_type == "error"]
    assert has_output(outputs, "image/png")


def test_dask_on_a_scheduler_address_equals_pandas(tmp_path: Path) -> None:
    """--scheduler ADDRESS: the work goes to that dask.distributed scheduler (here a local
    one listening on loopback TCP), with the same results as pandas."""
    from dask.distributed import LocalCluster

    rs = default_ruleset()
    cohort = fictional_cohort(rs.program, 1200, seed=12, unknown=0.05, yes=0.03)
    folder = tmp_path / "cohort"
    folder.mkdir()
    cohort.iloc[:600].to_parquet(folder / "part-0.parquet", index=False)
    cohort.iloc[600:].to_parquet(folder / "part-1.parquet", index=False)
    single = tmp_path / "all.parquet"
    cohort.to_parquet(single, index=False)
    screen_file(single, tmp_path / "pandas.parquet", progress=False)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp",
                      host="127.0.0.1", dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tcp://127.0.0.1:")
        screen_file(folder, tmp_path / "dask.parquet", engine="dask", scheduler=address,
                    progress=False)
    a = pd.read_parquet(tmp_path / "pandas.parquet")
    b = pd.read_parquet(tmp_path / "dask.parquet")
    for column in RESULT_COLUMNS:
        assert a[column].tolist() == b[column].tolist()
