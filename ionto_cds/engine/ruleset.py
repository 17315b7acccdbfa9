"""A loaded rule set: the checked rules, their program compiled once, and the one plan cache."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from ionto_cds.errors import PlanInfeasible, RuleSetError
from ionto_cds.evaluation.answers import FactSet, factset, validate
from ionto_cds.evaluation.frame_collect import KnownPlans
from ionto_cds.evaluation.program import AREA_FACT, Program, compile_program
from ionto_cds.evaluation.scalar import ScalarProgram
from ionto_cds.language.facts import FactCatalog
from ionto_cds.language.loader import RuleSource, read_rules
from ionto_cds.language.model import Rule, Truth, facts_read
from ionto_cds.language.treatment import Protocol
from ionto_cds.treatment.limits import LimitKind, tightest
from ionto_cds.treatment.plan import Plan, build_plan
from ionto_cds.units import Quantity, unit

Caps = Sequence[tuple[str, Any, str]]

_PLAN_CACHE_SIZE = 65536
_MA, _CM2, _DENSITY = unit("mA"), unit("cm^2"), unit("mA/cm^2")


class RuleSet:
    """A loaded, checked rules folder, compiled once into a program."""

    def __init__(self, source: RuleSource) -> None:
        self.source = source
        self.version = source.version
        self.sha256 = source.sha256
        self.catalog: FactCatalog = source.catalog
        self.rules = source.rules
        self.references = source.references
        self.drugs = source.drugs
        self.protocols: tuple[Protocol, ...] = source.protocols
        self.limits = source.limits
        self.program: Program = compile_program(source.catalog, source.rules, source.protocols)
        self.scalar = ScalarProgram(self.program)
        self.general = self.program.general
        self.required = self.program.required
        self.by_id: dict[str, Rule] = {r.id: r for r in self.rules}
        self._plans: dict[tuple[Any, ...], Plan | tuple[str, Any]] = {}
        self.frame_plans: KnownPlans = {}
        """Dose texts of plans made for frames (kept across calls, like the plan cache)."""

    # -- answers ------------------------------------------------------------------------------

    def validate(self, answers: Mapping[str, object], source: str | None = None) -> FactSet:
        """Raw answers checked against the catalog (PatientDataError lists every bad one)."""
        return validate(self.scalar, answers, source)

    def answers(self, values: Mapping[str, Any]) -> FactSet:
        """Already-canonical values, with the questions that do not apply worked out."""
        return factset(self.scalar, values)

    # -- truths -------------------------------------------------------------------------------

    def rule_truth(self, rule_id: str, env: Mapping[str, Any]) -> Truth:
        """A rule's truth for one patient's answers (``FactSet.env``)."""
        return Truth(self.scalar.truth(self.program.rule_node[rule_id], env))

    def protocol_truth(self, protocol: Protocol, env: Mapping[str, Any]) -> Truth:
        """Whether a protocol's condition holds for one patient's answers."""
        return Truth(self.scalar.truth(self.program.node_of(protocol.when), env))

    def unneeded_facts(self, env: Mapping[str, Any]) -> frozenset[str]:
        """The questions no rule or protocol that can still matter reads, for these answers:
        the drug- and modality-specific screens of protocols whose condition is already false
        (the glycopyrronium screen for an elbow). A form may hide them; an answer given to one
        still counts."""
        live = [p for p in self.protocols if self.protocol_truth(p, env) is not Truth.FALSE]
        conditions = [r.when for r in self.general]
        conditions += [r.when for p in live for r in self.steering_rules(p)]
        conditions += [p.when for p in self.protocols]  # what chooses among them stays asked
        needed = {f.name for f in self.catalog if f.required}
        needed |= {name for p in live for name in p.requires}
        if any(not p.is_referral for p in live):
            needed.add(AREA_FACT)  # a plan's density is worked out on it
        pending = [name for c in conditions for name in facts_read(c)]
        while pending:
            name = pending.pop()
            if name in needed or name not in self.catalog:
                continue
            needed.add(name)
            fact = self.catalog[name]
            pending += [n for c in self.catalog.gate_conditions(name) for n in facts_read(c)]
            pending += [n for case in fact.derived for n in facts_read(case.when)]
        return frozenset(f.name for f in self.catalog.asked if f.name not in needed)

    def steering_rules(self, protocol: Protocol) -> tuple[Rule, ...]:
        """The modality- and drug-specific rules that bear on one protocol."""
        index = self.program.protocol_index(protocol.id)
        return self.program.steering[index].rules if index is not None else ()

    # -- plans --------------------------------------------------------------------------------

    def plan(self, protocol: Protocol, rule_caps: Caps, area: Any,
             precautions: tuple[str, ...] = ()) -> Plan:
        """The plan for a protocol under these caps and electrode area, computed once per
        distinct input (plans are immutable and depend on nothing else).

        Raises :class:`~ionto_cds.errors.PlanInfeasible`, like build_plan.
        """
        key = (protocol.id, tuple((n, r, v) if isinstance(v, str) else (n, r, v.magnitude, v.units)
                                for n, v, r in rule_caps),
               None if area is None else (area.magnitude, area.units), precautions)
        cached = self._plans.get(key)
        if isinstance(cached, tuple):  # infeasible: a fresh exception, so no traceback is kept
            raise PlanInfeasible(protocol.id, *cached)
        if cached is not None:
            return cached
        if len(self._plans) > _PLAN_CACHE_SIZE:
            self._plans.clear()
        try:
            plan = self._area_variant(protocol, rule_caps, area, precautions)
            if plan is None:
                drug = self.drugs.get(protocol.drug) if protocol.drug else None
                plan = build_plan(protocol, drug, self.limits, rule_caps, area, precautions)
        except PlanInfeasible as exc:
            # Keep only the reason: a kept exception would keep its traceback's frames alive.
            self._plans[key] = (exc.problem, exc.minimum_area)
            raise
        self._plans[key] = plan
        return plan

    def _area_variant(self, protocol: Protocol, rule_caps: Caps, area: Any,
                      precautions: tuple[str, ...]) -> Plan | None:
        """The plan for an answered electrode area that does not bind the current-density
        limit: the area-free plan with the area and density filled in (what build_plan gives,
        without redoing its unit arithmetic). None when the full build is needed."""
        if area is None or protocol.electrode_area is not None:
            return None
        try:
            base = self.plan(protocol, rule_caps, None, precautions)
        except PlanInfeasible:
            return None
        # Plain magnitudes in fixed units (mA, cm², mA/cm²): thousands of areas, one plan each.
        current = float(base.current.to(_MA).magnitude)
        cm2 = float(area.to(_CM2).magnitude)
        cap = tightest(base.limits, LimitKind.MAX_CURRENT_DENSITY)
        if cm2 <= 0 or (cap is not None
                        and current >= float(cap.value.to(_DENSITY).magnitude) * cm2):
            return None  # the density limit binds (or nearly): the full build lowers the current
        return replace(base, electrode_area=area, area_source="answer",
                       current_density=Quantity(current / cm2, _DENSITY))

    def __repr__(self) -> str:
        return (f"<RuleSet {self.version} sha256={self.sha256[:12]} rules={len(self.rules)} "
                f"protocols={len(self.protocols)}>")


def load_ruleset(path: str | Path | None = None) -> RuleSet:
    """Load and check a rules folder (the packaged rules by default).

    Raises :class:`~ionto_cds.errors.RuleSetError` listing every mistake with file:line.
    """
    report = read_rules(path)
    if report.errors or report.source is None:
        raise RuleSetError(report.errors)
    return RuleSet(report.source)


@lru_cache(maxsize=1)
def default_ruleset() -> RuleSet:
    """The packaged rules, loaded once per process."""
    return load_ruleset()
