"""What a treatment-session record holds: its fields, the record, and its typed frame."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import pandas as pd

from ionto_cds.units import Quantity

Q = Any  # pint Quantity

DOSE_TOLERANCE = 0.01
"""A dose typed by hand may differ from current x duration by rounding, never by more than 1 %."""


class FieldKind(StrEnum):
    """How a session field is typed and checked."""

    TEXT = "text"
    DATE = "date"
    PROTOCOL = "protocol"
    ENUM = "enum"
    QUANTITY = "quantity"
    SCORE = "score"
    EFFECTS = "effects"


@dataclass(frozen=True)
class SessionField:
    """One field of a session record: how it is typed, shown and stored."""

    name: str
    kind: FieldKind
    label: str
    required: bool = False
    unit: str | None = None
    help: str = ""

    @property
    def column(self) -> str:
        """The DataFrame column: quantities carry their unit, e.g. 'current[mA]'."""
        return f"{self.name}[{self.unit}]" if self.unit else self.name


SESSION_FIELDS: tuple[SessionField, ...] = (
    SessionField("course_id", FieldKind.TEXT, "Course", True, help="One course of treatment."),
    SessionField("patient_id", FieldKind.TEXT, "Patient",
                 help="Pseudonymous patient id (optional)."),
    SessionField("date", FieldKind.DATE, "Date", True, help="The day the session took place."),
    SessionField("protocol", FieldKind.PROTOCOL, "Protocol", True),
    SessionField("site", FieldKind.ENUM, "Site", True),
    SessionField("current", FieldKind.QUANTITY, "Current", True, "mA",
                 "The current reached, e.g. 15 mA."),
    SessionField("duration", FieldKind.QUANTITY, "Duration", True, "min", "e.g. 20 min or 900 s."),
    SessionField("dose", FieldKind.QUANTITY, "Dose", False, "mA*min",
                 "Computed as current x duration; if given it must agree."),
    SessionField("electrode_area", FieldKind.QUANTITY, "Electrode area", False, "cm^2",
                 "Optional; checks the current density."),
    SessionField("polarity", FieldKind.ENUM, "Polarity",
                 help="Active electrode; the protocol's by default."),
    SessionField("solution", FieldKind.TEXT, "Solution", help="The protocol's by default."),
    SessionField("tolerance", FieldKind.ENUM, "Tolerance"),
    SessionField("adverse_effects", FieldKind.EFFECTS, "Adverse effects"),
    SessionField("hdss_before", FieldKind.SCORE, "HDSS before", help="Before this session."),
    SessionField("hdss_after", FieldKind.SCORE, "HDSS after",
                 help="After this session (or at review)."),
    SessionField("pain_after", FieldKind.SCORE, "Pain after", help="0-10."),
    SessionField("notes", FieldKind.TEXT, "Notes"),
)
FIELDS_BY_NAME = {f.name: f for f in SESSION_FIELDS}


@dataclass(frozen=True)
class SessionRecord:
    """One logged session, every physical value a pint quantity."""

    course_id: str
    date: dt.date
    protocol: str
    site: str
    current: Q
    duration: Q
    dose: Q
    polarity: str
    patient_id: str | None = None
    electrode_area: Q | None = None
    solution: str | None = None
    tolerance: str | None = None
    adverse_effects: tuple[str, ...] = ()
    hdss_before: int | None = None
    hdss_after: int | None = None
    pain_after: int | None = None
    notes: str | None = None
    session_id: int | None = None
    logged_at: str | None = None
    ruleset_version: str | None = None
    session_uid: str | None = None
    """The id that makes logging idempotent (the client's, or a digest of the values)."""
    already_logged: bool = False
    """True when :meth:`CourseLog.log_session` found this session already in the log (and
    stored nothing)."""

    def to_row(self) -> dict[str, Any]:
        """The record as plain values in the log's units (one row of :func:`session_schema`)."""
        return {
            "course_id": self.course_id,
            "patient_id": self.patient_id,
            "date": self.date.isoformat(),
            "protocol": self.protocol,
            "site": self.site,
            "current[mA]": magnitude(self.current, "mA"),
            "duration[min]": magnitude(self.duration, "min"),
            "dose[mA*min]": magnitude(self.dose, "mA*min"),
            "electrode_area[cm^2]": magnitude(self.electrode_area, "cm^2"),
            "polarity": self.polarity,
            "solution": self.solution,
            "tolerance": self.tolerance,
            "adverse_effects": list(self.adverse_effects),
            "hdss_before": self.hdss_before,
            "hdss_after": self.hdss_after,
            "pain_after": self.pain_after,
            "notes": self.notes,
        }

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> SessionRecord:
        """A record from one row of :meth:`CourseLog.sessions`."""
        def opt(name: str) -> Any:
            value = row.get(name)
            return None if value is None or is_missing(value) else value

        area = opt("electrode_area[cm^2]")
        date = row["date"]
        return cls(
            course_id=str(row["course_id"]),
            date=date.date() if isinstance(date, dt.datetime) else dt.date.fromisoformat(
                str(date)[:10]),
            protocol=str(row["protocol"]),
            site=str(row["site"]),
            current=Quantity(float(row["current[mA]"]), "mA"),
            duration=Quantity(float(row["duration[min]"]), "min"),
            dose=Quantity(float(row["dose[mA*min]"]), "mA*min"),
            polarity=str(row["polarity"]),
            patient_id=opt("patient_id"),
            electrode_area=Quantity(float(area), "cm^2") if area is not None else None,
            solution=opt("solution"),
            tolerance=opt("tolerance"),
            adverse_effects=tuple(opt("adverse_effects") or ()),
            hdss_before=_opt_int(opt("hdss_before")),
            hdss_after=_opt_int(opt("hdss_after")),
            pain_after=_opt_int(opt("pain_after")),
            notes=opt("notes"),
            session_id=_opt_int(opt("session_id")),
            logged_at=opt("logged_at"),
            ruleset_version=opt("ruleset_version"),
            session_uid=opt("session_uid"),
        )


def magnitude(quantity: Q | None, unit: str) -> float | None:
    return None if quantity is None else float(quantity.to(unit).magnitude)


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def is_missing(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def typed_frame(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows), columns=[f.column for f in SESSION_FIELDS])
    frame["date"] = pd.to_datetime(frame["date"]).astype("datetime64[us]")
    for f in SESSION_FIELDS:
        if f.kind is FieldKind.QUANTITY:
            frame[f.column] = frame[f.column].astype("float64")
        elif f.kind is FieldKind.SCORE:
            frame[f.column] = frame[f.column].astype("Int64")
        elif f.kind in (FieldKind.TEXT, FieldKind.ENUM, FieldKind.PROTOCOL):
            frame[f.column] = frame[f.column].astype("str").where(frame[f.column].notna(), None)
    return frame


def session_frame(records: Sequence[SessionRecord]) -> pd.DataFrame:
    """Records as a frame typed for :func:`session_schema` (one row each)."""
    return typed_frame([r.to_row() for r in records])
