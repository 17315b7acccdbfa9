"""The protocol's guidance for a course as logged so far: next session, review, adverse effects."""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ionto_cds.course.records import SessionRecord
from ionto_cds.engine.ruleset import RuleSet
from ionto_cds.errors import UsageError
from ionto_cds.language.treatment import Protocol
from ionto_cds.language.vocabulary import CourseVocabulary
from ionto_cds.units import Quantity, format_quantity

Q = Any  # pint Quantity


@dataclass(frozen=True)
class AdverseAdvice:
    """What to do about one adverse effect of the latest session, and where the advice is from."""

    effect: str
    label: str
    response: str
    actions: tuple[str, ...]
    source: str

    def text(self) -> str:
        """E.g. 'Small blisters (vesicles): Check the skin ... (protocol x)'."""
        return f"{self.label}: {' '.join(self.actions)} ({self.source})"


@dataclass(frozen=True)
class Guidance:
    """The protocol's guidance for one course, from its sessions so far.

    ``response`` is the most severe response class the latest session calls for
    (``stop``, ``pause``, ``lower_current``, ``reduce_frequency`` or ``expected``).
    """

    course_id: str
    protocol_id: str
    protocol_title: str
    sessions_done: int
    induction_sessions: int | None
    last_session: dt.date
    next_session: dt.date | None
    earliest_next: dt.date | None
    next_session_note: str
    judge_after_sessions: int | None
    judge_due: bool
    judge_note: str
    maintenance_note: str
    response: str
    response_headline: str
    adverse: tuple[AdverseAdvice, ...]
    escalation: str | None
    cumulative_dose: Q
    hdss_baseline: int | None = None
    hdss_latest: int | None = None
    warnings: tuple[str, ...] = field(default=())

    def items(self) -> list[tuple[str, str]]:
        """The guidance as (kind, text) pairs in reading order, for any renderer."""
        out: list[tuple[str, str]] = []
        if self.response != "expected" or self.adverse:
            out.append((self.response, self.response_headline))
            out.extend((a.response, a.text()) for a in self.adverse)
        out.append(("next", self.next_session_note))
        judge = (f"Judge response now ({self.sessions_done} sessions done; due after "
                 f"{self.judge_after_sessions})" if self.judge_due else
                 f"Judge response after session {self.judge_after_sessions} "
                 f"({self.sessions_done} done)")
        if self.judge_after_sessions is not None:
            out.append(("judge", f"{judge}: {self.judge_note}"))
        if self.maintenance_note:
            out.append(("maintenance", f"Maintenance: {self.maintenance_note}"))
        if self.escalation:
            out.append(("escalation", self.escalation))
        out.append(("dose", f"Cumulative dose {format_quantity(self.cumulative_dose)} over "
                    f"{self.sessions_done} session{'s' if self.sessions_done != 1 else ''} "
                    f"of {self.protocol_id}"))
        out.extend(("warning", w) for w in self.warnings)
        return out

    def to_markdown(self) -> str:
        """A short Markdown list: the heading names the course and protocol."""
        lines = [f"**Course {self.course_id}: {self.protocol_title}**", ""]
        lines += [f"- {text}" for _, text in self.items()]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly data."""
        def day(d: dt.date | None) -> str | None:
            return d.isoformat() if d is not None else None

        return {
            "course_id": self.course_id,
            "protocol": self.protocol_id,
            "sessions_done": self.sessions_done,
            "induction_sessions": self.induction_sessions,
            "last_session": day(self.last_session),
            "next_session": day(self.next_session),
            "earliest_next": day(self.earliest_next),
            "next_session_note": self.next_session_note,
            "judge_after_sessions": self.judge_after_sessions,
            "judge_due": self.judge_due,
            "judge_note": self.judge_note,
            "maintenance_note": self.maintenance_note,
            "response": self.response,
            "response_headline": self.response_headline,
            "adverse": [{"effect": a.effect, "label": a.label, "response": a.response,
                         "actions": list(a.actions), "source": a.source} for a in self.adverse],
            "escalation": self.escalation,
            "cumulative_dose": format_quantity(self.cumulative_dose),
            "hdss_baseline": self.hdss_baseline,
            "hdss_latest": self.hdss_latest,
            "warnings": list(self.warnings),
        }


def _days(quantity: Q | None) -> int:
    return 0 if quantity is None else math.ceil(float(quantity.to("day").magnitude) - 1e-9)


def _session_gap(protocol: Protocol) -> tuple[int, int]:
    """(planned days between induction sessions, minimum days between any two sessions)."""
    schedule = protocol.schedule
    if schedule is None:
        return 0, 0
    minimum = _days(schedule.min_interval)
    spread = 7 // schedule.sessions_per_week if schedule.sessions_per_week else 0
    return max(spread, minimum, 1), minimum


def _adverse(latest: SessionRecord, protocol: Protocol,
             vocabulary: CourseVocabulary) -> list[AdverseAdvice]:
    # The protocol's side effect naming the key gives response and action; the vocabulary's
    # default applies only when the protocol names none.
    own = {s.effect: s for s in protocol.side_effects}
    advice = []
    for key in latest.adverse_effects:
        effect = vocabulary.adverse_effects[key]
        response: str
        if key in own:
            response, actions = own[key].response.value, (own[key].action,)
            source = f"protocol {protocol.id}"
        else:
            response, actions = effect.response, (effect.action,)
            source = "course vocabulary, general default"
        advice.append(AdverseAdvice(key, effect.label, response, actions, source))
    return advice


def _escalation(same: Sequence[SessionRecord], protocol: Protocol,
                vocabulary: CourseVocabulary, ruleset: RuleSet
                ) -> tuple[str | None, int | None, int | None, str | None]:
    """(escalation text, baseline HDSS, latest HDSS, warning) for an adequate failed trial."""
    baseline = next((s.hdss_before for s in same if s.hdss_before is not None), None)
    if baseline is None:
        baseline = next((s.hdss_after for s in same if s.hdss_after is not None), None)
    latest = next((s.hdss_after for s in reversed(same) if s.hdss_after is not None), None)
    schedule = protocol.schedule
    rule = vocabulary.escalation
    after = schedule.judge_after_sessions if schedule is not None else None
    n = len(same)
    if protocol.modality != rule.modality or after is None or n < after:
        return None, baseline, latest, None
    if baseline is None or latest is None:
        return None, baseline, latest, (
            f"Response cannot be judged after {n} sessions: no HDSS is recorded; record it "
            "before the course and after sessions")
    improvement = baseline - latest
    lowest = vocabulary.scores["hdss"].min
    if improvement >= rule.min_hdss_improvement or latest <= lowest:
        return None, baseline, latest, None
    points = f"{rule.min_hdss_improvement} point{'s' if rule.min_hdss_improvement != 1 else ''}"
    text = (f"Consider escalation after an adequate failed trial. This is an inference, not a "
            f"guideline rule: after {n} sessions of {protocol.id} the HDSS went from {baseline} "
            f"to {latest}, not better by at least {points}. Per the protocol's note on judging "
            "response, check the points it lists before calling this a failure.")
    catalog = {f.name for f in ruleset.catalog}
    if {"tap_water_sessions", "tap_water_response"} <= catalog:
        answer = "none" if improvement <= 0 else "partial"
        text += (f" If the trial was adequate, re-assess the patient with tap_water_sessions = "
                 f"{n} and tap_water_response = {answer} so the rules can offer the next "
                 "protocol.")
    return text, baseline, latest, None


def course_guidance(records: Sequence[SessionRecord], ruleset: RuleSet,
                    vocabulary: CourseVocabulary, today: dt.date | None = None) -> Guidance:
    """Guidance for a course from its sessions (any order), following its latest protocol."""
    if not records:
        raise UsageError("a course needs at least one session for guidance")
    ordered = sorted(records, key=lambda r: (r.date, r.session_id or 0))
    latest = ordered[-1]
    protocol = next(p for p in ruleset.protocols if p.id == latest.protocol)
    same = [r for r in ordered if r.protocol == protocol.id]
    n = len(same)
    schedule = protocol.schedule
    today = today or dt.date.today()

    adverse = _adverse(latest, protocol, vocabulary)
    responses = [a.response for a in adverse]
    if latest.tolerance is not None:
        responses.append(vocabulary.tolerance[latest.tolerance].response)
    response = vocabulary.most_severe(responses)

    planned, minimum = _session_gap(protocol)
    earliest = latest.date + dt.timedelta(days=minimum) if minimum else None
    induction = schedule.induction_sessions if schedule is not None else None
    next_session: dt.date | None = None
    if response in ("stop", "pause"):
        note = f"No next session until the adverse effect is dealt with: " \
               f"{vocabulary.responses[response]}"
    elif induction is not None and n < induction:
        next_session = latest.date + dt.timedelta(days=planned)
        when = "due now" if next_session <= today else "planned"
        per_week = schedule.sessions_per_week if schedule is not None else None
        note = (f"Next session {n + 1} of {induction}: {when}, {next_session.isoformat()} "
                f"({per_week} a week")
        note += f"; not before {earliest.isoformat()})" if earliest else ")"
        if schedule is not None and schedule.induction_note:
            note += f". {schedule.induction_note}"
    else:
        note = f"Induction complete ({n} session{'s' if n != 1 else ''}): plan maintenance"
        note += f"; not before {earliest.isoformat()}" if earliest else ""
    if response == "lower_current" and next_session is not None:
        note += f" Lower the current below {format_quantity(latest.current)}."

    warnings = []
    if schedule is not None and schedule.min_interval is not None:
        close = [f"{a.date.isoformat()} and {b.date.isoformat()}"
                 for a, b in itertools.pairwise(same) if (b.date - a.date).days < minimum]
        if close:
            shown = "; ".join(close[-3:])
            more = f" (and {len(close) - 3} earlier pairs)" if len(close) > 3 else ""
            warnings.append(f"Sessions closer than the minimum interval of "
                            f"{format_quantity(schedule.min_interval)} (protocol {protocol.id}): "
                            f"{shown}{more}")
    escalation, baseline, hdss_latest, warning = _escalation(same, protocol, vocabulary, ruleset)
    if warning:
        warnings.append(warning)
    judge_after = schedule.judge_after_sessions if schedule is not None else None
    total = sum(float(r.dose.to("mA*min").magnitude) for r in same)
    return Guidance(
        course_id=latest.course_id,
        protocol_id=protocol.id,
        protocol_title=protocol.title,
        sessions_done=n,
        induction_sessions=induction,
        last_session=latest.date,
        next_session=next_session,
        earliest_next=earliest,
        next_session_note=note,
        judge_after_sessions=judge_after,
        judge_due=judge_after is not None and n >= judge_after,
        judge_note=schedule.judge_note.strip() if schedule is not None else "",
        maintenance_note=schedule.maintenance_note.strip() if schedule is not None else "",
        response=response,
        response_headline=vocabulary.responses[response],
        adverse=tuple(adverse),
        escalation=escalation,
        cumulative_dose=Quantity(total, "mA*min"),
        hdss_baseline=baseline,
        hdss_latest=hdss_latest,
        warnings=tuple(warnings),
    )
