"""The decision-pathway graph is built from the rules, and highlights what assess concluded."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from helpers import LIMITS_YAML, RULES, protocol_yaml, rule_yaml, tiny_rules

from ionto_cds import Decision, assess, load_ruleset
from ionto_cds.analysis.cases import read_cases
from ionto_cds.language.model import Severity
from ionto_cds.render.pathway.build import build_pathway
from ionto_cds.render.pathway.graph import Status
from ionto_cds.render.pathway.steps import evaluation_steps
from ionto_cds.render.pathway.svg import render_svg

SVG = "{http://www.w3.org/2000/svg}"
# the required hyperhidrosis history answered
BASE = {"indication": "hyperhidrosis", "site": "palms",
        "hyperhidrosis_warning_signs": [], "hdss": 3, "tap_water_sessions": 0}


def _rules_text(abs_title: str = "Synthetic pacemaker rule") -> str:
    return (rule_yaml("abs-one", "{fact: pacemaker, is: true}", "absolute", title=abs_title)
            + rule_yaml("abs-two", "{fact: epilepsy, is: true}", "absolute", title="Two")
            + rule_yaml("rel-one", "{fact: thrombosis, is: true}", "relative", title="Rel")
            + rule_yaml("pre-one", "{fact: age, lt: 14 year}", "precaution", title="Child",
                        extra="effect: {set: {max_current: 10 mA}}\n")
            + rule_yaml("tap-only", "{fact: metal_iud, is: true}", "absolute",
                        applies_to="[tap_water]", title="Only for tap water"))


def _protocols_text() -> str:
    return (LIMITS_YAML
            + protocol_yaml("low", "{fact: site, in: [palms, soles]}", priority=10)
            + protocol_yaml("high", "{fact: site, eq: palms}", priority=200)
            + protocol_yaml("middle", "{fact: site, eq: soles}", priority=50))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder = tiny_rules(tmp_path_factory.mktemp("pathway"), _rules_text(), _protocols_text())
    return load_ruleset(folder)


def test_every_general_rule_is_a_node_in_its_severity_group(tiny: Any) -> None:
    pw = build_pathway(tiny)
    rule_nodes = [n for n in pw.nodes if n.kind == "rule"]
    assert [n.rule_id for n in rule_nodes] == [r.id for r in tiny.general]
    assert {n.rule_id for n in rule_nodes} == {"abs-one", "abs-two", "rel-one", "pre-one"}
    for severity in Severity:
        group = pw.group(f"screen:{severity.value}")
        expected = [f"rule:{r.id}" for r in tiny.general if r.severity is severity]
        assert list(group.nodes) == expected
        assert group.parent == "screen" and group.severity is severity
    assert pw.node("rule:abs-one").title == "Synthetic pacemaker rule"
    assert "caps max current at 10 mA" in pw.node("rule:pre-one").lines


def test_protocols_in_priority_order_with_their_steering_rules(tiny: Any) -> None:
    pw = build_pathway(tiny)
    protocols = [n.protocol_id for n in pw.nodes if n.kind == "protocol"]
    assert protocols == ["high", "middle", "low"]
    for pid in protocols:
        group = pw.group(f"protocol-group:{pid}")
        assert group.nodes == (f"protocol:{pid}", f"steer:{pid}:tap-only")
    chain = [(e.source, e.target) for e in pw.edges if e.label == "else"]
    assert chain == [("protocol-group:high", "protocol-group:middle"),
                     ("protocol-group:middle", "protocol-group:low")]
    assert all(n.status is Status.NEUTRAL for n in pw.nodes)
    assert all(e.taken is None for e in pw.edges)


def test_decision_nodes_are_the_four_decisions(tiny: Any) -> None:
    pw = build_pathway(tiny)
    assert pw.group("decision").nodes == tuple(f"decision:{d.value}" for d in Decision)


def test_absolute_true_highlights_not_eligible_and_nothing_after(tiny: Any) -> None:
    a = assess({**BASE, "pacemaker": True}, tiny)
    pw = build_pathway(tiny, a)
    assert pw.node("rule:abs-one").status is Status.TRUE
    assert pw.node("rule:abs-two").status is Status.UNKNOWN
    assert pw.node("rule:rel-one").status is Status.UNKNOWN
    assert pw.node("decision:not_eligible").status is Status.TAKEN
    others = [d for d in Decision if d is not Decision.NOT_ELIGIBLE]
    assert all(pw.node(f"decision:{d.value}").status is Status.NOT_REACHED for d in others)
    assert all(n.status is Status.NOT_REACHED for n in pw.in_stage("protocols"))
    assert all(n.status is Status.NOT_REACHED for n in pw.in_stage("dose"))
    taken = {(e.source, e.target) for e in pw.edges if e.taken}
    assert taken == {("answers", "screen"), ("screen:absolute", "decision:not_eligible")}


def test_unknown_absolute_highlights_needs_information(tiny: Any) -> None:
    a = assess({**BASE, "epilepsy": False, "thrombosis": False, "age": 30}, tiny)
    assert a.decision is Decision.NEEDS_INFORMATION
    pw = build_pathway(tiny, a)
    assert pw.node("rule:abs-one").status is Status.UNKNOWN
    assert pw.node("rule:abs-two").status is Status.FALSE
    assert pw.node("required").status is Status.FALSE
    taken = {(e.source, e.target) for e in pw.edges if e.taken}
    assert ("screen:absolute", "decision:needs_information") in taken
    assert ("screen:required", "decision:needs_information") not in taken


def test_eligible_patient_takes_the_highest_matching_protocol(tiny: Any) -> None:
    answers = {**BASE, "pacemaker": False, "epilepsy": False, "thrombosis": False,
               "age": 30, "metal_iud": False}
    a = assess(answers, tiny)
    assert a.decision is Decision.ELIGIBLE and a.protocol is not None
    pw = build_pathway(tiny, a)
    assert pw.node("decision:eligible").status is Status.TAKEN
    assert pw.node("protocol:high").status is Status.TAKEN
    assert pw.node("steer:high:tap-only").status is Status.FALSE
    assert pw.node("protocol:middle").status is Status.NOT_REACHED
    assert pw.node("dose:plan").status is Status.TAKEN
    assert any("current 15 mA" in line for line in pw.node("dose:plan").lines)
    taken = {(e.source, e.target) for e in pw.edges if e.taken}
    assert {("decision:eligible", "protocols"), ("protocol:high", "dose:plan")} <= taken


def test_steering_exclusion_marks_protocols_and_revises_decision(tiny: Any) -> None:
    answers = {**BASE, "pacemaker": False, "epilepsy": False, "thrombosis": False,
               "age": 30, "metal_iud": True}
    a = assess(answers, tiny)
    pw = build_pathway(tiny, a)
    assert pw.node("steer:high:tap-only").status is Status.TRUE
    assert pw.node("protocol:high").status is Status.FALSE
    assert pw.node("protocol:high").note == "excluded by \u201cOnly for tap water\u201d"
    assert pw.node("protocol:middle").status is Status.FALSE  # site is not soles
    assert pw.node("protocol:low").status is Status.FALSE  # excluded too
    assert pw.node(f"decision:{a.decision.value}").note == "outcome"
    back = [e for e in pw.edges if e.back and e.taken]
    assert [e.target for e in back] == [f"decision:{a.decision.value}"]


def test_highlighting_agrees_with_assess_on_every_vignette() -> None:
    rs = load_ruleset()
    cases, errors = read_cases(RULES / "cases")
    assert not errors and cases
    for case in cases:
        a = assess(case.answers, rs)
        pw = build_pathway(rs, a)
        screen = {f.rule.id: f.status.label for f in a.findings if f.scope == "decision"}
        for node in pw.nodes:
            if node.kind == "rule":
                # A referral lists no unknown screening rule; the pathway still shows its truth.
                shown = (a.rule_truth(node.rule_id).label if a.decision is Decision.REFER
                         else screen.get(node.rule_id, "false"))
                assert shown == node.status.value, case.id
        assert pw.node(f"decision:{a.decision.value}").note == "outcome", case.id
        chosen = a.protocol.protocol.id if a.protocol else (a.referral.id if a.referral
                                                            else None)
        taken = [n.protocol_id for n in pw.nodes
                 if n.kind == "protocol" and n.status is Status.TAKEN]
        assert taken == ([chosen] if chosen else []), case.id
        for f in a.findings:
            if f.scope.startswith("protocol:"):
                node = pw.node(f"steer:{f.scope.removeprefix('protocol:')}:{f.rule.id}")
                assert node.status.value == f.status.label, case.id


def test_svg_is_well_formed_with_a_legend_and_deterministic(tiny: Any) -> None:
    a = assess({**BASE, "pacemaker": True}, tiny)
    svg = render_svg(build_pathway(tiny, a))
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    legend = root.find(f"{SVG}g[@class='legend']")
    assert legend is not None
    words = " ".join(t.text or "" for t in legend.iter(f"{SVG}text"))
    for status in (Status.TRUE, Status.FALSE, Status.UNKNOWN, Status.NOT_REACHED, Status.TAKEN):
        assert status.marker in words and status.meaning.split(":")[0] in words
    assert "path taken" in words and "not taken" in words
    drawn = {g.get("data-id") for g in root.iter(f"{SVG}g") if "node" in (g.get("class") or "")}
    assert drawn == {n.id for n in build_pathway(tiny).nodes}
    assert svg == render_svg(build_pathway(tiny, a))
    assert float(root.get("width") or 0) > 800 and float(root.get("height") or 0) > 400


def test_each_status_has_its_own_fill_stroke_and_marker() -> None:
    from ionto_cds.render.pathway.svg import STYLES

    shown = [Status.TRUE, Status.FALSE, Status.UNKNOWN, Status.NOT_REACHED, Status.TAKEN]
    looks = {(STYLES[s].fill, STYLES[s].hatch, STYLES[s].dash, STYLES[s].double) for s in shown}
    assert len(looks) == len(shown)
    assert len({s.marker for s in shown}) == len(shown)


def test_a_rule_edit_changes_the_picture(tmp_path: Path) -> None:
    folder = tiny_rules(tmp_path, _rules_text("Renamed device rule"), _protocols_text())
    svg = render_svg(build_pathway(load_ruleset(folder)))
    assert "Renamed device rule" in svg and "Synthetic pacemaker rule" not in svg


def test_focus_ring_marks_one_step(tiny: Any) -> None:
    svg = render_svg(build_pathway(tiny), focus="rule:abs-two")
    root = ET.fromstring(svg)
    assert len([g for g in root.iter(f"{SVG}g") if g.get("class") == "focus"]) == 1


def test_evaluation_steps_follow_the_engine_order(tiny: Any) -> None:
    answers = {**BASE, "pacemaker": False, "epilepsy": False, "thrombosis": True, "age": 30,
               "metal_iud": False}
    a = assess(answers, tiny)
    pw = build_pathway(tiny, a)
    steps = evaluation_steps(pw, a)
    ids = [s.node.id for s in steps]
    assert ids[:5] == ["required", "rule:abs-one", "rule:abs-two", "rule:rel-one",
                       "rule:pre-one"]
    assert "decision:eligible_with_precautions" in ids
    assert ids.index("protocol:high") < ids.index("steer:high:tap-only") < ids.index(
        "dose:plan")
    assert "protocol:middle" not in ids  # never reached
    rel = steps[ids.index("rule:rel-one")]
    assert rel.reads is not None and rel.reads["fact"] == "thrombosis"
    assert rel.reads["seen"] is True and rel.result == "\u2714 applies"
    assert rel.title == rel.node.title and "thrombosis" not in " ".join(rel.lines)
    assert rel.why.startswith("Because.") and "Do something." in rel.why


def test_cli_writes_the_pathway_of_a_case(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                          ) -> None:
    from ionto_cds.cli import main

    out = tmp_path / "case.svg"
    assert main(["pathway", "--case", "pacemaker-palmar", "-o", str(out)]) == 0
    root = ET.fromstring(out.read_text(encoding="utf-8"))
    titles = " ".join(t.text or "" for t in root.iter(f"{SVG}text"))
    assert "Palmar sweating with a pacemaker" in titles and "Not eligible" in titles
    assert main(["pathway", "--case", "pacemker-palmar", "-o", str(out)]) == 2
    assert "did you mean 'pacemaker-palmar'?" in capsys.readouterr().err


def test_cli_pathway_of_a_patient_file_and_of_the_rules(tmp_path: Path) -> None:
    from helpers import EXAMPLES

    from ionto_cds.cli import main

    out = tmp_path / "patient.svg"
    assert main(["pathway", "--patient", str(EXAMPLES / "palmar-adult.yaml"), "-o", str(out)]
                ) == 0
    assert "on the path" in out.read_text(encoding="utf-8")
    plain = tmp_path / "rules.svg"
    assert main(["pathway", "-o", str(plain)]) == 0
    assert "load a patient or case" in plain.read_text(encoding="utf-8")


def test_around_focus_shows_a_window_that_contains_the_focused_step():
    """Step-through shows the part of the pathway around the current step, never off-screen."""
    import re as _re

    from ionto_cds import assess, load_ruleset
    from ionto_cds.render.pathway.svg import WINDOW

    rs = load_ruleset()
    a = assess({"age": 30, "sex": "male", "indication": "hyperhidrosis", "site": "palms"}, rs)
    pathway = build_pathway(rs, a)
    whole = render_svg(pathway)
    full_w, full_h = (float(v) for v in _re.search(r'viewBox="0 0 ([\d.]+) ([\d.]+)"',
                                                   whole).groups())
    for node in (pathway.nodes[0], pathway.nodes[len(pathway.nodes) // 2], pathway.nodes[-1]):
        svg = render_svg(pathway, focus=node.id, around_focus=True)
        x0, y0, w, h = (float(v) for v in _re.search(
            r'viewBox="([\d.-]+) ([\d.-]+) ([\d.]+) ([\d.]+)"', svg).groups())
        assert (w, h) == (min(full_w, WINDOW[0]), min(full_h, WINDOW[1]))
        assert 0 <= x0 <= full_w - w and 0 <= y0 <= full_h - h
        ring = _re.search(r'<g class="focus"><rect x="([\d.-]+)" y="([\d.-]+)" '
                          r'width="([\d.]+)" height="([\d.]+)"', svg)
        assert ring is not None
        rx, ry, rw, rh = (float(v) for v in ring.groups())
        # the focus ring's centre is inside the window shown
        assert x0 <= rx + rw / 2 <= x0 + w and y0 <= ry + rh / 2 <= y0 + h
