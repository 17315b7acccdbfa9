"""Clinical vignettes (rules/cases/*.yaml): answers with expected outcomes, run as rule tests."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ionto_cds.analysis.expectations import PlanExpectation, read_plan_expectation
from ionto_cds.engine.assess import assess
from ionto_cds.engine.assessment import Assessment
from ionto_cds.engine.ruleset import RuleSet
from ionto_cds.errors import IontoError, Location, RuleError
from ionto_cds.evaluation.outcomes import Decision
from ionto_cds.language.model import Truth
from ionto_cds.language.reader import Reader
from ionto_cds.language.yamlsource import LocatedMap, item_line, key_line, load_yaml_file
from ionto_cds.suggestions import did_you_mean

_CASE_KEYS = ("id", "title", "teaching_point", "profile", "answers", "expect")
_REQUIRED_CASE_KEYS = ("id", "title", "teaching_point", "answers", "expect")
_EXPECT_KEYS = ("decision", "findings", "not_findings", "missing", "protocol", "referral",
                "plan")
_NO_VALUE = object()


@dataclass(frozen=True)
class Case:
    """One vignette: a fictional patient's answers and what the rules must conclude."""

    id: str
    title: str
    teaching_point: str
    answers: Mapping[str, Any]
    decision: Decision
    findings: tuple[str, ...] = ()
    not_findings: tuple[str, ...] = ()
    missing: tuple[str, ...] | None = None
    protocol: Any = _NO_VALUE  # a protocol id, None for "no plan", or _NO_VALUE (not checked)
    referral: Any = _NO_VALUE  # a referral id, None for "no referral", or _NO_VALUE
    plan: PlanExpectation | None = None
    location: Location = field(default_factory=lambda: Location("cases"))

    @property
    def checks_protocol(self) -> bool:
        """Whether the vignette states the expected protocol."""
        return self.protocol is not _NO_VALUE


@dataclass(frozen=True)
class CaseResult:
    """The outcome of one vignette: what went wrong (empty when it passed)."""

    case: Case
    problems: tuple[str, ...]
    assessment: Assessment | None

    @property
    def passed(self) -> bool:
        """True when every expectation held."""
        return not self.problems


def read_cases(directory: Path) -> tuple[list[Case], list[RuleError]]:
    """Every vignette under ``directory`` (*.yaml), and the mistakes in writing them.

    A file may also define ``profiles``: named answer sets (a screened adult, a glycopyrronium
    candidate) that a case, or another profile, starts from with ``profile: name``; the case's
    own answers are laid over it, and ``null`` leaves a profile's answer unanswered.
    """
    errors: list[RuleError] = []
    documents: list[tuple[Reader, LocatedMap]] = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            doc = load_yaml_file(path)
        except RuleError as exc:
            errors.append(exc)
            continue
        reader = Reader(str(path), errors)
        top = reader.mapping(doc, 1, path.name, ("cases", "profiles"))
        if top is not None:
            documents.append((reader, top))
    profiles = _read_profiles(documents)
    cases: list[Case] = []
    for reader, top in documents:
        if "cases" not in top:
            continue
        items = reader.sequence(top.get("cases"), key_line(top, "cases"), "'cases'")
        for i, item in enumerate(items or []):
            case = _read_case(reader, item, item_line(items, i), profiles)
            if case is not None:
                cases.append(case)
    seen: dict[str, Location] = {}
    for case in cases:
        if case.id in seen:
            errors.append(RuleError(case.location, f"duplicate case id '{case.id}' (first at "
                                    f"{seen[case.id]})"))
        seen.setdefault(case.id, case.location)
    return cases, errors


_Profiles = dict[str, tuple[Reader, LocatedMap]]


def _read_profiles(documents: list[tuple[Reader, LocatedMap]]) -> _Profiles:
    """Every named profile of every file (a name used twice is an error)."""
    found: _Profiles = {}
    for reader, top in documents:
        raw = top.get("profiles")
        if raw is None:
            continue
        if not isinstance(raw, LocatedMap):
            reader.error(key_line(top, "profiles"), "'profiles' must be a mapping of name: "
                         "{profile: base (optional), answers: {...}}")
            continue
        for name, entry in raw.items():
            e = reader.mapping(entry, key_line(raw, name), f"profile '{name}'",
                               ("profile", "answers"), ("answers",))
            if e is None:
                continue
            if name in found:
                reader.error(key_line(raw, name), f"profile '{name}' is defined twice")
                continue
            found[str(name)] = (reader, e)
    return found


def _answers(reader: Reader, e: LocatedMap, what: str, profiles: _Profiles,
             seen: tuple[str, ...] = ()) -> dict[str, Any] | None:
    """A case's or profile's answers, laid over the profile it names (if any)."""
    answers = e.get("answers")
    if not isinstance(answers, LocatedMap):
        reader.error(key_line(e, "answers"), f"{what}: answers must be a mapping of fact: answer")
        return None
    base: dict[str, Any] = {}
    name = e.get("profile")
    if name is not None:
        if name not in profiles:
            reader.error(key_line(e, "profile"), f"{what}: unknown profile '{name}'"
                         f"{did_you_mean(str(name), profiles)}")
            return None
        if name in seen:
            reader.error(key_line(e, "profile"), f"{what}: profiles form a loop "
                         f"({' -> '.join((*seen, str(name)))})")
            return None
        inner_reader, inner = profiles[str(name)]
        found = _answers(inner_reader, inner, f"profile '{name}'", profiles, (*seen, str(name)))
        if found is None:
            return None
        base = found
    merged = {**base, **answers}
    return {k: v for k, v in merged.items() if v is not None}


def _read_case(reader: Reader, item: Any, line: int | None, profiles: _Profiles
               ) -> Case | None:
    e = reader.mapping(item, line, "a case", _CASE_KEYS, _REQUIRED_CASE_KEYS)
    if e is None:
        return None
    what = f"case '{e.get('id')}'"
    expect = reader.mapping(e.get("expect"), key_line(e, "expect"), f"{what}: expect",
                            _EXPECT_KEYS, ("decision",))
    answers = _answers(reader, e, what, profiles)
    if answers is None:
        return None
    if expect is None:
        return None
    try:
        decision = Decision(str(expect.get("decision")))
    except ValueError:
        names = [d.value for d in Decision]
        given = str(expect.get("decision"))
        reader.error(key_line(expect, "decision"),
                     f"{what}: unknown decision '{given}'{did_you_mean(given, names)}")
        return None
    missing = reader.text_list(expect, "missing", what) if "missing" in expect else None
    plan = read_plan_expectation(reader, expect, what) if "plan" in expect else None
    return Case(
        id=str(e.get("id")),
        title=reader.text(e, "title", what),
        teaching_point=reader.text(e, "teaching_point", what),
        answers=answers,
        decision=decision,
        findings=reader.text_list(expect, "findings", what),
        not_findings=reader.text_list(expect, "not_findings", what),
        missing=missing,
        protocol=expect.get("protocol", _NO_VALUE),
        referral=expect.get("referral", _NO_VALUE),
        plan=plan,
        location=reader.at(e.line),
    )


def run_case(case: Case, ruleset: RuleSet) -> CaseResult:
    """Assess a vignette and compare with what it expects."""
    try:
        result = assess(case.answers, ruleset)
    except IontoError as exc:
        return CaseResult(case, (f"the answers cannot be assessed: {exc}",), None)
    problems: list[str] = []
    if result.decision is not case.decision:
        problems.append(f"decision {result.decision.value}, expected {case.decision.value}")
    found = {f.rule.id for f in result.findings}
    for rule_id in case.findings:
        if rule_id not in ruleset.by_id:
            hint = did_you_mean(rule_id, ruleset.by_id)
            problems.append(f"expects unknown rule '{rule_id}'{hint}")
        elif rule_id not in found:
            problems.append(f"finding '{rule_id}' missing")
    problems += [f"finding '{r}' present but not expected" for r in case.not_findings
                 if r in found]
    if case.missing is not None and set(case.missing) != set(result.missing):
        problems.append(f"missing {sorted(result.missing)}, expected {sorted(case.missing)}")
    if case.checks_protocol:
        got = result.protocol.protocol.id if result.protocol else (
            result.referral.id if result.referral else None)
        if got != case.protocol:
            problems.append(f"protocol {got}, expected {case.protocol}")
    if case.referral is not _NO_VALUE:
        got = result.referral.id if result.referral is not None else None
        if got != case.referral:
            problems.append(f"referral {got}, expected {case.referral}")
    if case.plan is not None:
        if result.protocol is None:
            problems.append("no plan, but the vignette pins its numbers")
        else:
            problems += case.plan.problems(result.protocol)
    return CaseResult(case, tuple(problems), result)


@dataclass(frozen=True)
class Coverage:
    """Which rules and protocols the vignettes exercised."""

    never_fired: tuple[str, ...]
    never_cleared: tuple[str, ...]
    protocols_never_chosen: tuple[str, ...]

    @property
    def complete(self) -> bool:
        """True when every rule fired and cleared somewhere and every protocol was chosen."""
        return not (self.never_fired or self.never_cleared or self.protocols_never_chosen)


def coverage(results: list[CaseResult], ruleset: RuleSet) -> Coverage:
    """Rules whose condition was never true / never false across the vignettes, and protocols
    (or referrals) no vignette ended in."""
    fired: set[str] = set()
    cleared: set[str] = set()
    chosen: set[str] = set()
    for result in results:
        a = result.assessment
        if a is None:
            continue
        env = a.factset.env
        for rule in ruleset.rules:
            value = ruleset.rule_truth(rule.id, env)
            if value == Truth.TRUE:
                fired.add(rule.id)
            elif value == Truth.FALSE:
                cleared.add(rule.id)
        if a.protocol is not None:
            chosen.add(a.protocol.protocol.id)
        if a.referral is not None:
            chosen.add(a.referral.id)
    ids = [r.id for r in ruleset.rules]
    return Coverage(
        never_fired=tuple(i for i in ids if i not in fired),
        never_cleared=tuple(i for i in ids if i not in cleared),
        protocols_never_chosen=tuple(p.id for p in ruleset.protocols if p.id not in chosen),
    )
