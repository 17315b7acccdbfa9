"""Cohort files fuzzed: any cells, any shape. Each file is screened or refused with the
package's own error, quickly, and screened rows + quarantined rows = input rows (issue 11)."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ionto_cds.cohort.screen import read_cohort, screen_frame
from ionto_cds.engine.ruleset import default_ruleset
from ionto_cds.errors import IontoError

RS = default_ruleset()
COLUMNS = ["patient_id", "age", "sex", "indication", "site", "pacemaker", "hdss",
           "electrode_area", "drug_allergies", "hyperhidrosis_warning_signs", "weight"]
CELLS = st.one_of(
    st.sampled_from(["", "yes", "no", "palms", "hyperhidrosis", "female", "3", "010", "1:30",
                     "6 cm2", "9**9**9 mA", "1e400", "-1", "none", "lidocaine;lidocaine",
                     "nan", "  yes ", "\x00", "\u200b", "30 year", "4 kg", "9" * 70]),
    st.text(max_size=12),
)


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(CELLS, min_size=len(COLUMNS), max_size=len(COLUMNS)), max_size=12))
def test_any_cells_are_screened_or_quarantined_and_counted(tmp_path: Path,
                                                           rows: list[list[str]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    path = tmp_path / "fuzz.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    start = time.perf_counter()
    try:
        raw = read_cohort(path)
    except IontoError:
        return  # refused as a whole, with our own message
    chunk = screen_frame(raw, RS, str(path))
    assert chunk.summary.screened + chunk.summary.quarantined == chunk.summary.rows == len(raw)
    assert len(chunk.output) == chunk.summary.screened
    assert time.perf_counter() - start < 20
