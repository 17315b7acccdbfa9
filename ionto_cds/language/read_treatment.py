"""Read drugs.yaml and protocols.yaml, checking every quantity's dimension."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ionto_cds.language.facts import FactCatalog
from ionto_cds.language.model import Reference
from ionto_cds.language.read_references import check_references
from ionto_cds.language.read_review import read_review
from ionto_cds.language.reader import Reader
from ionto_cds.language.shapes import (
    CURRENT_RANGE,
    DENSITY_LIMITS,
    DOSE_RANGE,
    DRUG,
    GLOBAL_LIMITS,
    INDUCTION,
    JUDGE_RESPONSE,
    MAINTENANCE,
    PARAMETERS,
    PROTOCOL,
    PROTOCOL_LIMITS,
    SCHEDULE,
    SIDE_EFFECT,
    SOLUTION,
    VARIANT,
    VARIANT_RANGE,
)
from ionto_cds.language.treatment import (
    ION_POLARITY,
    POLARITIES,
    PROTOCOL_MODALITIES,
    RESPONSES,
    Drug,
    Ion,
    Limits,
    Polarity,
    Protocol,
    ProtocolKind,
    Response,
    Schedule,
    SideEffectAction,
    Variant,
)
from ionto_cds.language.yamlsource import LocatedMap, item_line, key_line
from ionto_cds.suggestions import did_you_mean
from ionto_cds.units import format_quantity

_DRUG_KEY = re.compile(r"^[a-z][a-z0-9_]*$")
_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def _refs(reader: Reader, owner: LocatedMap, what: str, references: Mapping[str, Reference]
          ) -> tuple[str, ...]:
    return check_references(reader, owner, what, references)


def _q(reader: Reader, m: LocatedMap | None, key: str, unit: str, what: str) -> Any:
    """A quantity of a drug, protocol or limit: absent is None; empty, zero or negative is an
    error (no dose, current, time, area or limit of these is zero or less)."""
    if m is None or key not in m:
        return None
    line = key_line(m, key)
    if m[key] is None:
        reader.error(line, f"{what}: '{key}' is empty: write a value such as '1 {unit}', or "
                     "remove the line")
        return None
    found = reader.quantity(m[key], line, unit, f"{what}: '{key}'")
    if found is not None and not found.magnitude > 0:
        reader.error(line, f"{what}: '{key}' must be more than zero, got '{m[key]}'")
        return None
    return found


def _range(reader: Reader, span: LocatedMap | None, current: Any, line: int | None,
           what: str) -> tuple[Any, Any]:
    """A current range (min, max), checked: min at most max, the current within it."""
    low = _q(reader, span, "min", "mA", f"{what}: current_range")
    high = _q(reader, span, "max", "mA", f"{what}: current_range")
    if low is not None and high is not None and low > high:
        reader.error(key_line(span, "min"), f"{what}: current_range: 'min' "
                     f"{format_quantity(low)} is above 'max' {format_quantity(high)}")
    elif current is not None and low is not None and high is not None \
            and not low <= current <= high:
        reader.error(line, f"{what}: the current {format_quantity(current)} must lie within "
                     f"its current_range ({format_quantity(low)} to {format_quantity(high)})")
    return low, high


def read_drugs(
    reader: Reader, doc: LocatedMap, catalog: FactCatalog, references: Mapping[str, Reference]
) -> dict[str, Drug]:
    """The `drugs:` mapping of drugs.yaml."""
    raw = doc.get("drugs")
    if raw is None:
        return {}
    if not isinstance(raw, LocatedMap):
        reader.error(key_line(doc, "drugs"), "'drugs' must be a mapping of drug key: entry")
        return {}
    indications = catalog.facts["indication"].values if "indication" in catalog else ()
    out: dict[str, Drug] = {}
    for key, entry in raw.items():
        line = key_line(raw, key)
        what = f"drug '{key}'"
        if not _DRUG_KEY.match(key):
            reader.error(line, f"{what}: drug keys are snake_case, e.g. acetic_acid")
        e = reader.mapping(entry, line, what, DRUG.keys, DRUG.required)
        if e is None:
            continue
        ion = e.get("ion")
        polarity = e.get("polarity")
        if ion not in ION_POLARITY:
            reader.error(key_line(e, "ion"), f"{what}: ion must be anion or cation, got '{ion}'")
            continue
        if polarity != ION_POLARITY[ion]:
            reader.error(key_line(e, "polarity"), f"{what}: an {ion} is delivered from the "
                         f"{ION_POLARITY[ion]} (like charges repel), not '{polarity}'")
        valence = e.get("valence")
        if valence is not None and (isinstance(valence, bool) or not isinstance(valence, int)
                                    or valence <= 0):
            reader.error(key_line(e, "valence"), f"{what}: valence is a positive whole number")
            valence = None
        solution = reader.mapping(e.get("solution"), key_line(e, "solution"),
                                  f"{what}: solution", SOLUTION.keys, SOLUTION.required)
        dose = reader.mapping(e.get("dose"), key_line(e, "dose"), f"{what}: dose",
                              DOSE_RANGE.keys, DOSE_RANGE.required)
        inds = reader.text_list(e, "indications", what)
        for i, ind in enumerate(inds):
            if ind not in indications:
                reader.error(item_line(e.get("indications"), i), f"{what}: unknown indication "
                             f"'{ind}'{did_you_mean(ind, indications)}")
        dose_min = _q(reader, dose, "min", "mA*min", f"{what}: dose")
        dose_max = _q(reader, dose, "max", "mA*min", f"{what}: dose")
        if dose_min is not None and dose_max is not None and dose_min > dose_max:
            reader.error(key_line(e, "dose"), f"{what}: dose min is above dose max")
        out[key] = Drug(
            key=key,
            label=reader.text(e, "label", what),
            ion=Ion(ion),
            polarity=Ion(ion).polarity,
            valence=valence,
            molar_mass=_q(reader, e, "molar_mass", "g/mol", what),
            solution=reader.text(solution, "name", what) if solution else "",
            concentration=_concentration(reader, solution, what),
            indications=inds,
            dose_min=dose_min,
            dose_max=dose_max,
            max_current=_q(reader, e, "max_current", "mA", what),
            side_effects=reader.text_list(e, "side_effects", what),
            references=_refs(reader, e, what, references),
            location=reader.at(line),
            review=read_review(reader, e, what),
        )
    return out


def _concentration(reader: Reader, solution: LocatedMap | None, what: str) -> str:
    """A concentration as written: a mass concentration ('4 mg/mL') or a percentage ('5 %')."""
    if solution is None or solution.get("concentration") is None:
        return ""
    value = solution["concentration"]
    if isinstance(value, str) and value.strip().endswith("%"):
        number = value.strip()[:-1].strip()
        try:
            float(number)
        except ValueError:
            reader.error(key_line(solution, "concentration"), f"{what}: concentration "
                         f"'{value}' is not a percentage such as '5 %'")
        return value.strip()
    q = _q(reader, solution, "concentration", "mg/mL", f"{what}: solution")
    return format_quantity(q) if q is not None else ""


def read_limits(reader: Reader, doc: LocatedMap, references: Mapping[str, Reference]) -> Limits:
    """The global `limits:` of protocols.yaml."""
    if "limits" not in doc:
        return Limits.none()
    m = reader.mapping(doc["limits"], key_line(doc, "limits"), "limits",
                       GLOBAL_LIMITS.keys, GLOBAL_LIMITS.required)
    if m is None:
        return Limits.none()
    densities = reader.mapping(m.get("max_current_density"), key_line(m, "max_current_density"),
                               "limits: max_current_density", DENSITY_LIMITS.keys,
                               DENSITY_LIMITS.required)
    values: dict[str, Any] = {}
    for polarity in POLARITIES:
        q = _q(reader, densities, polarity, "mA/cm^2", "limits: max_current_density")
        if q is not None:
            values[polarity] = q
    return Limits(values, reader.text(m, "rationale", "limits"),
                  _refs(reader, m, "limits", references))


def read_protocols(
    reader: Reader, doc: LocatedMap, catalog: FactCatalog, references: Mapping[str, Reference],
    drugs: Mapping[str, Drug], adverse_effects: Mapping[str, str] | None = None,
) -> tuple[Protocol, ...]:
    """The `protocols:` list of protocols.yaml.

    ``adverse_effects`` maps the course vocabulary's adverse-effect keys to their labels: each
    side effect must name one (None when the vocabulary could not be read; its own errors say
    why, and side-effect keys are then not checked).
    """
    items = reader.sequence(doc.get("protocols"), key_line(doc, "protocols"), "'protocols'")
    out: list[Protocol] = []
    seen: dict[str, int | None] = {}
    for i, item in enumerate(items or []):
        protocol = _read_protocol(reader, item, item_line(items, i), catalog, references, drugs,
                                  adverse_effects)
        if protocol is None:
            continue
        if protocol.id in seen:
            reader.error(protocol.location.line if protocol.location else None,
                         f"duplicate protocol id '{protocol.id}' (first at line "
                         f"{seen[protocol.id]}): every protocol needs its own id")
        seen[protocol.id] = protocol.location.line if protocol.location else None
        out.append(protocol)
    # Highest priority first; file order breaks ties (lint reports overlapping ties).
    order = {p.id: n for n, p in enumerate(out)}
    return tuple(sorted(out, key=lambda p: (-p.priority, order[p.id])))


def _read_protocol(
    reader: Reader, item: Any, line: int | None, catalog: FactCatalog,
    references: Mapping[str, Reference], drugs: Mapping[str, Drug],
    adverse_effects: Mapping[str, str] | None,
) -> Protocol | None:
    e = reader.mapping(item, line, "a protocol", PROTOCOL.keys, PROTOCOL.required)
    if e is None:
        return None
    pid = e.get("id")
    what = f"protocol '{pid}'"
    if not isinstance(pid, str) or not _ID.match(pid):
        reader.error(key_line(e, "id"), f"protocol id '{pid}' must be kebab-case")
        return None
    modality = e.get("modality")
    if modality not in PROTOCOL_MODALITIES:
        reader.error(key_line(e, "modality"), f"{what}: modality must be one of "
                     f"{', '.join(PROTOCOL_MODALITIES)}, got '{modality}'"
                     f"{did_you_mean(str(modality), PROTOCOL_MODALITIES)}")
        return None
    drug = e.get("drug")
    if modality == "drug_assisted":
        if drug not in drugs:
            reader.error(key_line(e, "drug"), f"{what}: a drug_assisted protocol names "
                         f"a drug of drugs.yaml, got '{drug}'{did_you_mean(str(drug), drugs)}")
            return None
    elif drug is not None:
        reader.error(key_line(e, "drug"), f"{what}: only drug_assisted protocols name a drug")
    priority = e.get("priority")
    if isinstance(priority, bool) or not isinstance(priority, int):
        reader.error(key_line(e, "priority"), f"{what}: priority is a whole number "
                     "(higher is tried first)")
        priority = 0
    when = reader.condition(e.get("when"), key_line(e, "when"), catalog.facts, f"{what}: when")
    refs = _refs(reader, e, what, references)
    base: dict[str, Any] = dict(
        id=pid, title=reader.text(e, "title", what), modality=ProtocolKind(modality),
        drug=drug if isinstance(drug, str) else None, priority=priority,
        summary=reader.text(e, "summary", what), references=refs, location=reader.at(e.line),
        review=read_review(reader, e, what),
    )
    if modality == "referral":
        for key in ("parameters", "limits", "schedule"):
            if key in e:
                reader.error(key_line(e, key), f"{what}: a referral has no '{key}'")
        return Protocol(when=when, **base) if when is not None else None
    p = reader.mapping(e.get("parameters"), key_line(e, "parameters"),
                       f"{what}: parameters", PARAMETERS.keys, PARAMETERS.required)
    limits = reader.part(e, "limits", f"{what}: limits", PROTOCOL_LIMITS.keys)
    schedule = _read_schedule(reader, e, what)
    if p is None or when is None:
        return None
    current = _q(reader, p, "current", "mA", what)
    current_range = reader.part(p, "current_range", f"{what}: current_range",
                                CURRENT_RANGE.keys)
    duration = _q(reader, p, "duration", "min", what)
    target_dose = _q(reader, p, "target_dose", "mA*min", what)
    if ("duration" in p) == ("target_dose" in p):
        reader.error(p.line, f"{what}: parameters need exactly one of 'duration' or "
                     "'target_dose' (the duration then follows from dose / current)")
    polarity = p.get("polarity")
    if polarity not in POLARITIES:
        reader.error(key_line(p, "polarity"), f"{what}: polarity must be one of "
                     f"{', '.join(POLARITIES)}, got '{polarity}'"
                     f"{did_you_mean(str(polarity), POLARITIES)}")
        return None
    elif isinstance(drug, str) and drug in drugs and polarity != drugs[drug].polarity:
        reader.error(key_line(p, "polarity"), f"{what}: {drug} is delivered from the "
                     f"{drugs[drug].polarity} (drugs.yaml), not the {polarity}")
    side_effects = _read_side_effects(reader, e, what, adverse_effects)
    current_min, current_max = _range(reader, current_range, current, key_line(p, "current"),
                                      what)
    return Protocol(
        requires=_read_requires(reader, e, what, catalog),
        variants=_read_variants(reader, p, what),
        when=when,
        current=current,
        current_min=current_min,
        current_max=current_max,
        ramp=reader.text(p, "ramp", what, required=False),
        duration=duration,
        target_dose=target_dose,
        polarity=Polarity(polarity),
        polarity_note=reader.text(p, "polarity_note", what, required=False),
        electrode_area=_q(reader, p, "electrode_area", "cm^2", what),
        solution=reader.text(p, "solution", what),
        additives=reader.text_list(p, "additives", what),
        max_current=_q(reader, limits, "max_current", "mA", f"{what}: limits"),
        max_dose=_q(reader, limits, "max_dose", "mA*min", f"{what}: limits"),
        max_current_density=_q(reader, limits, "max_current_density", "mA/cm^2",
                               f"{what}: limits"),
        schedule=schedule,
        precautions=reader.text_list(e, "precautions", what),
        aftercare=reader.text_list(e, "aftercare", what),
        monitoring=reader.text_list(e, "monitoring", what),
        side_effects=tuple(side_effects),
        expected_efficacy=reader.text(e, "expected_efficacy", what, required=False),
        **base,
    )


def _read_requires(reader: Reader, e: LocatedMap, what: str, catalog: FactCatalog
                   ) -> tuple[str, ...]:
    """``requires``: facts of facts.yaml the plan cannot be made without."""
    names = reader.text_list(e, "requires", what)
    for name in names:
        if name not in catalog.facts:
            reader.error(key_line(e, "requires"), f"{what}: requires names unknown fact "
                         f"'{name}'{did_you_mean(name, catalog.facts)}")
    return tuple(n for n in names if n in catalog.facts)


def _read_variants(reader: Reader, p: LocatedMap, what: str) -> tuple[Variant, ...]:
    """``parameters.variants``: named starting parameters a rule's effect can switch to."""
    if "variants" not in p:
        return ()
    found = p["variants"]
    if not isinstance(found, LocatedMap):
        reader.error(key_line(p, "variants"), f"{what}: variants must be a mapping of name: "
                     "parameters, e.g. children: {current: 2 mA, ...}")
        return ()
    out = []
    for name, item in found.items():
        where = f"{what}: variant '{name}'"
        if not isinstance(name, str) or not _DRUG_KEY.match(name):
            reader.error(key_line(found, name), f"{where}: variant names are snake_case, "
                         "e.g. children")
            continue
        v = reader.mapping(item, key_line(found, name), where, VARIANT.keys, VARIANT.required)
        if v is None:
            continue
        current = _q(reader, v, "current", "mA", where)
        span = reader.part(v, "current_range", f"{where}: current_range", VARIANT_RANGE.keys,
                           VARIANT_RANGE.required)
        low, high = _range(reader, span, current, key_line(v, "current"), where)
        if current is None:
            continue
        out.append(Variant(name, current, low, high, reader.text(v, "note", where)))
    return tuple(out)


def _read_side_effects(reader: Reader, e: LocatedMap, what: str,
                       adverse_effects: Mapping[str, str] | None) -> list[SideEffectAction]:
    """A protocol's side_effects: each {effect, response, action}, the effect a vocabulary key."""
    if e.get("side_effects") is None:
        return []
    items = reader.sequence(e["side_effects"], key_line(e, "side_effects"),
                            f"{what}: side_effects")
    out: list[SideEffectAction] = []
    seen: set[str] = set()
    for i, entry in enumerate(items or []):
        line = item_line(items, i)
        m = reader.mapping(entry, line, f"{what}: a side effect", SIDE_EFFECT.keys,
                           SIDE_EFFECT.required)
        if m is None:
            continue
        effect, response = m.get("effect"), m.get("response")
        ok = True
        if adverse_effects is not None and effect not in adverse_effects:
            reader.error(key_line(m, "effect"), f"{what}: side effect '{effect}' is not "
                         f"an adverse effect of course/course.yaml"
                         f"{did_you_mean(str(effect), adverse_effects)}; name one of its "
                         "adverse_effects keys, or add the effect there first")
            ok = False
        elif effect in seen:
            reader.error(key_line(m, "effect"), f"{what}: side effect '{effect}' is "
                         "listed twice; give it one response and action")
            ok = False
        if response not in RESPONSES:
            reader.error(key_line(m, "response"), f"{what}: side effect '{effect}': "
                         f"response '{response}' is not a response class"
                         f"{did_you_mean(str(response), RESPONSES)}; use one of "
                         f"{', '.join(RESPONSES)}")
            ok = False
        action = reader.text(m, "action", what)
        if ok and isinstance(effect, str):
            seen.add(effect)
            label = adverse_effects[effect] if adverse_effects is not None else effect
            out.append(SideEffectAction(effect, label, Response(str(response)), action))
    return out


def _read_schedule(reader: Reader, e: LocatedMap, what: str) -> Schedule | None:
    if "schedule" not in e:
        reader.error(e.line, f"{what}: a treatment protocol needs a 'schedule'")
        return None
    s = reader.mapping(e["schedule"], key_line(e, "schedule"), f"{what}: schedule",
                       SCHEDULE.keys, SCHEDULE.required)
    if s is None:
        return None
    induction = reader.part(s, "induction", f"{what}: schedule induction", INDUCTION.keys)
    judge = reader.part(s, "judge_response", f"{what}: schedule judge_response",
                        JUDGE_RESPONSE.keys)
    maintenance = reader.part(s, "maintenance", f"{what}: schedule maintenance",
                              MAINTENANCE.keys)

    def whole(m: LocatedMap | None, key: str) -> int | None:
        if m is None or key not in m:
            return None
        v = m[key]
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            reader.error(key_line(m, key), f"{what}: schedule '{key}' is a whole number")
            return None
        return v

    return Schedule(
        sessions_per_week=whole(induction, "sessions_per_week"),
        induction_sessions=whole(induction, "sessions"),
        induction_note=reader.text(induction, "note", what, required=False) if induction else "",
        judge_after_sessions=whole(judge, "after_sessions"),
        judge_note=reader.text(judge, "note", what, required=False) if judge else "",
        maintenance_note=reader.text(maintenance, "note", what, required=False)
        if maintenance else "",
        min_interval=_q(reader, s, "min_interval", "day", what),
    )
