"""The pandera schema of logged sessions: each column checked against the rules' protocols and
sites and the course vocabulary, each row held to its protocol's limits (the one dose check)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pandera.pandas as pa

from ionto_cds.course.records import DOSE_TOLERANCE, is_missing
from ionto_cds.engine.assessment import Assessment
from ionto_cds.engine.ruleset import RuleSet
from ionto_cds.language.model import Truth
from ionto_cds.language.treatment import POLARITIES, Protocol
from ionto_cds.language.vocabulary import CourseVocabulary
from ionto_cds.treatment.calculator import DoseCheck, check_session
from ionto_cds.treatment.limits import LimitKind, tightest
from ionto_cds.units import Quantity, pretty_quantity

Q = Any  # pint Quantity

SCORE_OF = {"hdss_before": "hdss", "hdss_after": "hdss", "pain_after": "pain"}
_LIMIT_FIELD = {LimitKind.MAX_CURRENT: "current", LimitKind.MAX_DOSE: "dose",
                LimitKind.MAX_CURRENT_DENSITY: "electrode_area"}


@dataclass(frozen=True)
class SessionContext:
    """What the schema checks against: the rules' protocols and limits, and the vocabulary.

    With an ``assessment`` the limits also carry the caps the patient's rules put on the plan
    (e.g. the paediatric current cap), as :meth:`RuleSet.plan` had them.
    """

    ruleset: RuleSet
    vocabulary: CourseVocabulary
    assessment: Assessment | None = None

    def protocol(self, protocol_id: object) -> Protocol | None:
        return next((p for p in self.ruleset.protocols if p.id == protocol_id), None)

    def treatment_ids(self) -> list[str]:
        return [p.id for p in self.ruleset.protocols if not p.is_referral]

    def sites(self) -> list[str]:
        return list(self.ruleset.catalog["site"].values or ())

    def check(self, protocol: Protocol, current: Q, duration: Q, area: Q | None) -> DoseCheck:
        """The session's numbers against every limit a plan of the protocol had."""
        drug = self.ruleset.drugs.get(protocol.drug) if protocol.drug else None
        caps = self.assessment.rule_caps(protocol.id) if self.assessment is not None else []
        return check_session(current=current, duration=duration, area=area, protocol=protocol,
                             drug=drug, global_limits=self.ruleset.limits, rule_caps=caps)


def field_choices(name: str, ruleset: RuleSet, vocabulary: CourseVocabulary) -> list[str]:
    """The allowed values of an enum-like field (site, protocol, polarity, tolerance, effects)."""
    choices: dict[str, list[str]] = {
        "polarity": list(POLARITIES),
        "tolerance": list(vocabulary.tolerance),
        "adverse_effects": list(vocabulary.adverse_effects),
    }
    ctx = SessionContext(ruleset, vocabulary)
    if name == "site":
        return ctx.sites()
    if name == "protocol":
        return ctx.treatment_ids()
    return choices[name]


def _number(row: Mapping[str, Any], column: str) -> float | None:
    value = row.get(column)
    return None if value is None or is_missing(value) else float(value)


def _limit_violation(ctx: SessionContext, row: Mapping[str, Any], kind: LimitKind) -> str | None:
    """The tightest limit of one kind the session breaks (the one dose check of plans)."""
    protocol = ctx.protocol(row.get("protocol"))
    mA, minutes, area = (_number(row, c) for c in
                         ("current[mA]", "duration[min]", "electrode_area[cm^2]"))
    if protocol is None or protocol.is_referral or mA is None or mA <= 0:
        return None
    check = ctx.check(protocol, Quantity(mA, "mA"),
                      Quantity(minutes if minutes is not None and minutes > 0 else 0.0, "min"),
                      Quantity(area, "cm^2") if area is not None and area > 0 else None)
    broken = [c for c in check.broken if c.limit.kind is kind]
    if not broken:
        return None
    lowest = tightest([c.limit for c in broken], kind)
    worst = next(c for c in broken if c.limit is lowest)
    return f"{worst}: the session is refused"


def _dose_problem(row: Mapping[str, Any]) -> str | None:
    given, current, duration = (_number(row, c) for c in
                                ("dose[mA*min]", "current[mA]", "duration[min]"))
    if given is None or current is None or duration is None:
        return None
    computed = current * duration
    if abs(given - computed) <= DOSE_TOLERANCE * max(computed, 1e-12):
        return None
    return (f"{pretty_quantity(Quantity(given, 'mA*min'))} does not match current x "
            f"duration = {pretty_quantity(Quantity(current, 'mA'))} x "
            f"{pretty_quantity(Quantity(duration, 'min'))} = "
            f"{pretty_quantity(Quantity(computed, 'mA*min'))}")


def _polarity_problem(ctx: SessionContext, row: Mapping[str, Any]) -> str | None:
    protocol = ctx.protocol(row.get("protocol"))
    polarity = row.get("polarity")
    if protocol is None or protocol.modality != "drug_assisted" or is_missing(polarity):
        return None
    if polarity == protocol.polarity or polarity not in POLARITIES:
        return None
    return (f"'{polarity}' does not match protocol {protocol.id}: its drug is given from the "
            f"{protocol.polarity}")


def _site_problem(ctx: SessionContext, row: Mapping[str, Any]) -> str | None:
    protocol = ctx.protocol(row.get("protocol"))
    site = row.get("site")
    if protocol is None or is_missing(site) or site not in ctx.sites():
        return None
    # Only the site is known here, so a protocol fails only when its condition is false for it.
    env = ctx.ruleset.validate({"site": site}).env
    if ctx.ruleset.protocol_truth(protocol, env) is not Truth.FALSE:
        return None
    return f"'{site}' is not a site protocol {protocol.id} treats"


def _limit_check(kind: LimitKind) -> Callable[[SessionContext, Mapping[str, Any]], str | None]:
    return lambda ctx, row: _limit_violation(ctx, row, kind)


ROW_CHECKS: dict[str, tuple[str, Callable[[SessionContext, Mapping[str, Any]], str | None]]] = {
    "dose_matches": ("dose", lambda ctx, row: _dose_problem(row)),
    "polarity_matches_drug": ("polarity", _polarity_problem),
    "site_fits_protocol": ("site", _site_problem),
    **{kind.value: (field, _limit_check(kind)) for kind, field in _LIMIT_FIELD.items()},
}


def _row_check(ctx: SessionContext, name: str) -> pa.Check:
    _, explain = ROW_CHECKS[name]

    def check(frame: pd.DataFrame) -> pd.Series:
        return pd.Series([explain(ctx, row) is None for row in frame.to_dict("records")],
                         index=frame.index, dtype=bool)
    return pa.Check(check, name=name)


def session_schema(ruleset: RuleSet, vocabulary: CourseVocabulary,
                   limits: bool = True, assessment: Assessment | None = None
                   ) -> pa.DataFrameSchema:
    """The pandera schema of logged sessions, one row each, quantities in the log's units.

    Columns are checked against the rules' sites, protocols and the course vocabulary; with
    ``limits`` each row is also checked against its protocol's and drug's limits, dose
    arithmetic, the drug's polarity and the protocol's sites (the log's read path leaves them
    out so that a later, stricter rule never hides sessions already given). ``assessment``
    adds the patient's rule caps to those limits (see :meth:`CourseLog.log_session`).
    """
    ctx = SessionContext(ruleset, vocabulary, assessment)
    effects = set(vocabulary.adverse_effects)
    positive = pa.Check.gt(0)

    def score(key: str) -> pa.Column:
        s = vocabulary.scores[key]
        return pa.Column("Int64", pa.Check.in_range(s.min, s.max), nullable=True)

    columns = {
        "course_id": pa.Column(str, pa.Check.str_length(min_value=1)),
        "patient_id": pa.Column(str, nullable=True),
        "date": pa.Column("datetime64[us]", pa.Check.le(pd.Timestamp(dt.date.today()))),
        "protocol": pa.Column(str, pa.Check.isin(ctx.treatment_ids())),
        "site": pa.Column(str, pa.Check.isin(ctx.sites())),
        "current[mA]": pa.Column(float, positive),
        "duration[min]": pa.Column(float, positive),
        "dose[mA*min]": pa.Column(float, positive),
        "electrode_area[cm^2]": pa.Column(float, positive, nullable=True),
        "polarity": pa.Column(str, pa.Check.isin(list(POLARITIES))),
        "solution": pa.Column(str, nullable=True),
        "tolerance": pa.Column(str, pa.Check.isin(list(vocabulary.tolerance)), nullable=True),
        "adverse_effects": pa.Column(object, pa.Check(
            lambda v: isinstance(v, list | tuple) and all(k in effects for k in v),
            element_wise=True, name="known_adverse_effects")),
        "hdss_before": score("hdss"),
        "hdss_after": score("hdss"),
        "pain_after": score("pain"),
        "notes": pa.Column(str, nullable=True),
    }
    checks = [_row_check(ctx, name) for name in ROW_CHECKS] if limits else []
    return pa.DataFrameSchema(columns, checks=checks, strict="filter", name="course session")
