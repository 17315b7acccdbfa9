"""lint: overdue reviews are warnings (judged on a date given for tests); --release fails on a
draft."""

from __future__ import annotations

from datetime import date

from helpers import RULES, rule_yaml, tiny_rules

from ionto_cds.analysis.review import overdue_warnings, release_errors, review_summary
from ionto_cds.cli import main
from ionto_cds.language.loader import read_rules


def test_packaged_rules_are_releasable_and_due_a_year_after_review(capsys):
    assert main(["lint", str(RULES), "--release", "--today", "2027-11-24"]) == 0
    assert "0 warnings" in capsys.readouterr().out
    source = read_rules(RULES).source
    assert source is not None
    summary = review_summary(source, date(2027, 11, 24))
    assert summary.counts == {"draft": 0, "reviewed": 87, "retired": 0}
    assert summary.next_due == date(2027, 11, 24)


def test_overdue_review_is_a_warning_with_the_entry(tmp_path, capsys):
    folder = tiny_rules(tmp_path, rule_yaml("pacemaker-x", "{fact: pacemaker, is: true}")
                        .replace(", last_reviewed: 2026-01-01", "")
                        + "    review: {status: reviewed, reviewed_by: tests, "
                          "reviewed_on: 2026-01-01, next_review: 2026-06-01}\n")
    source = read_rules(folder).source
    assert source is not None
    assert overdue_warnings(source, date(2026, 6, 1)) == []
    [warning] = overdue_warnings(source, date(2026, 6, 2))
    assert str(warning) == (f"{folder / 'contraindications.yaml'}:3: rule 'pacemaker-x' is "
                            "overdue for review: next_review was 2026-06-01; review it and "
                            "write the new dates")
    assert main(["lint", str(folder), "--today", "2026-06-02", "--release"]) == 0
    assert "warning: rule 'pacemaker-x' is overdue" in capsys.readouterr().out


def test_release_fails_on_a_draft(tmp_path, capsys):
    folder = tiny_rules(tmp_path, rule_yaml("pacemaker-x", "{fact: pacemaker, is: true}"))
    assert main(["lint", str(folder)]) == 0
    capsys.readouterr()
    assert main(["lint", str(folder), "--release"]) == 1
    err = capsys.readouterr().err
    assert "rule 'pacemaker-x' has no review block: a release holds only reviewed" in err
    assert "not releasable: 1 entry still draft" in err
    source = read_rules(folder).source
    assert source is not None
    assert len(release_errors(source)) == 1


def test_bad_today_is_a_usage_error(capsys):
    assert main(["lint", str(RULES), "--today", "tomorrow"]) == 2
    assert "--today is a date written YYYY-MM-DD, got 'tomorrow'" in capsys.readouterr().err
