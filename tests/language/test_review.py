"""Review status as data: the review block is read strictly, retired entries never act."""

from __future__ import annotations

from helpers import CLEAR_ADULT, RULES, line_of, rule_yaml, tiny_rules

from ionto_cds.engine.assess import assess
from ionto_cds.engine.ruleset import RuleSet
from ionto_cds.language.loader import read_rules
from ionto_cds.language.model import ReviewStatus

REVIEWED = ("review: {status: reviewed, reviewed_by: tests, reviewed_on: 2026-01-01, "
            "next_review: 2027-01-01}\n")


def _rule(review: str, rule_id: str = "pacemaker-x") -> str:
    text = rule_yaml(rule_id, "{fact: pacemaker, is: true}", extra=review)
    return text.replace(", last_reviewed: 2026-01-01", "")


def test_every_shipped_entry_is_reviewed():
    source = read_rules(RULES).source
    assert source is not None
    entries = [*source.rules, *source.protocols, *source.drugs.values()]
    assert len(entries) == 62 + 21 + 4
    assert {e.review.status for e in entries} == {ReviewStatus.REVIEWED}
    assert {e.review.reviewed_by for e in entries} == {"ionto-cds clinical team"}
    assert all(e.review.next_review and e.review.reviewed_on
               and e.review.next_review > e.review.reviewed_on for e in entries)


def test_review_block_is_read_and_gives_the_last_reviewed_date(tmp_path):
    source = read_rules(tiny_rules(tmp_path, _rule(REVIEWED))).source
    assert source is not None
    rule = source.rules[0]
    assert rule.review.status is ReviewStatus.REVIEWED
    assert rule.review.reviewed_on is not None and rule.review.reviewed_on.isoformat() == \
        "2026-01-01"
    assert rule.metadata.last_reviewed == "2026-01-01"


def test_no_review_block_is_a_draft(tmp_path):
    source = read_rules(tiny_rules(tmp_path, rule_yaml("pacemaker-x",
                                                       "{fact: pacemaker, is: true}"))).source
    assert source is not None
    assert source.rules[0].review.status is ReviewStatus.DRAFT
    assert not source.rules[0].review.written


def _errors(tmp_path, review: str) -> list[str]:
    folder = tiny_rules(tmp_path, _rule(review))
    report = read_rules(folder)
    assert report.source is None
    return [str(e) for e in report.errors]


def test_bad_status_is_an_error_with_its_line(tmp_path):
    errors = _errors(tmp_path, "review: {status: reviwed, reviewed_by: a, reviewed_on: "
                     "2026-01-01}\n")
    line = line_of(tmp_path / "tiny" / "contraindications.yaml", "review:")
    assert errors == [f"{tmp_path / 'tiny' / 'contraindications.yaml'}:{line}: rule "
                      "'pacemaker-x': review status 'reviwed' is not one of draft, reviewed, "
                      "retired (did you mean 'reviewed'?)"]


def test_bad_dates_are_errors(tmp_path):
    errors = _errors(tmp_path, "review: {status: reviewed, reviewed_by: a, reviewed_on: "
                     "2026-02-30, next_review: soon}\n")
    assert [e.split(": ", 1)[1] for e in errors] == [
        "rule 'pacemaker-x': review 'reviewed_on' must be a date written YYYY-MM-DD, e.g. "
        "2027-12-01, got '2026-02-30'",
        "rule 'pacemaker-x': review 'next_review' must be a date written YYYY-MM-DD, e.g. "
        "2027-12-01, got 'soon'"]


def test_next_review_before_the_review_is_an_error(tmp_path):
    errors = _errors(tmp_path, "review: {status: reviewed, reviewed_by: a, reviewed_on: "
                     "2026-05-01, next_review: 2026-04-01}\n")
    assert len(errors) == 1 and "next_review 2026-04-01 must come after reviewed_on " \
        "2026-05-01" in errors[0]


def test_reviewed_entry_names_who_and_when(tmp_path):
    errors = _errors(tmp_path, "review: {status: reviewed}\n")
    assert [e.split(": ", 1)[1] for e in errors] == [
        "rule 'pacemaker-x': a reviewed entry names who decided and when: add 'reviewed_by' "
        "to its review",
        "rule 'pacemaker-x': a reviewed entry names who decided and when: add 'reviewed_on' "
        "to its review"]


def test_review_date_written_twice_is_an_error(tmp_path):
    text = rule_yaml("pacemaker-x", "{fact: pacemaker, is: true}", extra=REVIEWED)
    report = read_rules(tiny_rules(tmp_path, text))
    assert [e.message for e in report.errors] == [
        "rule 'pacemaker-x': the review date is written once, in review.reviewed_on: remove "
        "metadata 'last_reviewed'"]


def test_retired_rule_never_fires(tmp_path):
    retired = "review: {status: retired, reviewed_by: a, reviewed_on: 2026-03-01}\n"
    folder = tiny_rules(tmp_path, _rule(REVIEWED, "device-a") + _rule(retired, "device-b"))
    source = read_rules(folder).source
    assert source is not None
    assert [r.id for r in source.rules] == ["device-a"]
    assert [r.id for r in source.retired_rules] == ["device-b"]
    found = assess({**CLEAR_ADULT, "pacemaker": True}, RuleSet(source))
    assert [f.rule.id for f in found.findings] == ["device-a"]
    assert found.decision.value == "not_eligible"


def test_retired_rule_id_is_never_reused(tmp_path):
    retired = "review: {status: retired, reviewed_by: a, reviewed_on: 2026-03-01}\n"
    folder = tiny_rules(tmp_path, _rule(REVIEWED, "device-a") + _rule(retired, "device-a"))
    assert any("duplicate rule id 'device-a'" in e.message for e in read_rules(folder).errors)


def test_retired_protocol_is_never_tried_and_a_protocol_in_use_never_names_a_retired_drug(
        tmp_path):
    from helpers import copy_rules, replace_in

    folder = copy_rules(tmp_path)
    protocols = folder / "protocols.yaml"
    text = protocols.read_text(encoding="utf-8")
    start = text.index("  - id: tap-water-palmoplantar")
    end = text.index("review: {status: reviewed", start)
    protocols.write_text(text[:end] + "review: {status: retired" + text[end + len(
        "review: {status: reviewed"):], encoding="utf-8")
    source = read_rules(folder).source
    assert source is not None
    assert "tap-water-palmoplantar" not in {p.id for p in source.protocols}
    assert [p.id for p in source.retired_protocols] == ["tap-water-palmoplantar"]
    a = assess({**CLEAR_ADULT, "electrode_area": "100 cm^2"}, RuleSet(source))
    assert a.protocol is None or a.protocol.protocol.id != "tap-water-palmoplantar"

    drugs = folder / "drugs.yaml"
    replace_in(drugs, "review: {status: reviewed", "review: {status: retired")  # glycopyrronium
    errors = [e.message for e in read_rules(folder).errors]
    assert "protocol 'glycopyrronium-palmoplantar' names the retired drug 'glycopyrronium': " \
        "retire the protocol too, or take the drug back into review" in errors
