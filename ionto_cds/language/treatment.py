"""What drugs and protocols *are*: immutable definitions read from drugs.yaml and protocols.yaml."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ionto_cds.errors import Location
from ionto_cds.language.model import UNREVIEWED, Condition, Review

Q = Any  # a pint Quantity (pint's generic type does not help mypy here)

class Polarity(StrEnum):
    """The active (drug) electrode, or alternating polarity (tap water)."""

    ANODE = "anode"
    CATHODE = "cathode"
    ALTERNATING = "alternating"


class Ion(StrEnum):
    """The charge of a drug's ion; like charges repel, so it sets the active electrode."""

    ANION = "anion"
    CATION = "cation"

    @property
    def polarity(self) -> Polarity:
        """The electrode an ion of this charge is delivered from."""
        return Polarity.CATHODE if self is Ion.ANION else Polarity.ANODE


class ProtocolKind(StrEnum):
    """What an entry of protocols.yaml is: a tap-water or drug treatment, or a referral."""

    TAP_WATER = "tap_water"
    DRUG_ASSISTED = "drug_assisted"
    REFERRAL = "referral"


class Response(StrEnum):
    """The least to do about an adverse effect, most severe first."""

    STOP = "stop"
    PAUSE = "pause"
    LOWER_CURRENT = "lower_current"
    REDUCE_FREQUENCY = "reduce_frequency"
    EXPECTED = "expected"


POLARITIES = tuple(p.value for p in Polarity)
ION_POLARITY = {ion.value: ion.polarity.value for ion in Ion}
PROTOCOL_MODALITIES = tuple(k.value for k in ProtocolKind)


@dataclass(frozen=True)
class Drug:
    """A drug given by iontophoresis: its ion, active electrode, solution and dose limits."""

    key: str
    label: str
    ion: Ion
    polarity: Polarity
    valence: int | None
    molar_mass: Q | None
    solution: str
    concentration: str
    indications: tuple[str, ...]
    dose_min: Q | None
    dose_max: Q | None
    max_current: Q | None
    side_effects: tuple[str, ...]
    references: tuple[str, ...]
    location: Location | None = field(default=None, compare=False)
    review: Review = UNREVIEWED


@dataclass(frozen=True)
class Limits:
    """Limits for every plan: maximum current density by active-electrode polarity."""

    max_current_density: Mapping[str, Q]
    rationale: str
    references: tuple[str, ...]

    @classmethod
    def none(cls) -> Limits:
        """No global limits (a rules folder without protocols.yaml)."""
        return cls({}, "", ())


RESPONSES = tuple(r.value for r in Response)
"""Response classes to an adverse effect, most severe first (headlines in course/course.yaml)."""


@dataclass(frozen=True)
class SideEffectAction:
    """What to do when a side effect appears.

    ``effect`` is a key of the course vocabulary's adverse effects and ``label`` its wording
    there; ``response`` is one of :data:`RESPONSES`.
    """

    effect: str
    label: str
    response: Response
    action: str


@dataclass(frozen=True)
class Schedule:
    """Induction, when to judge response, maintenance, and the minimum interval."""

    sessions_per_week: int | None
    induction_sessions: int | None
    induction_note: str
    judge_after_sessions: int | None
    judge_note: str
    maintenance_note: str
    min_interval: Q | None

    def to_dict(self) -> dict[str, Any]:
        """The schedule as JSON-friendly data."""
        from ionto_cds.units import format_quantity

        return {
            "induction": {
                "sessions_per_week": self.sessions_per_week,
                "sessions": self.induction_sessions,
                "note": self.induction_note or None,
            },
            "judge_response": {
                "after_sessions": self.judge_after_sessions,
                "note": self.judge_note or None,
            },
            "maintenance": self.maintenance_note or None,
            "min_interval": format_quantity(self.min_interval) if self.min_interval else None,
        }


@dataclass(frozen=True)
class Variant:
    """Another set of starting parameters of a protocol (e.g. ``children``), used when a rule
    whose effect names it applies: its own starting current and current range, and why."""

    name: str
    current: Q
    current_min: Q | None
    current_max: Q | None
    note: str


@dataclass(frozen=True)
class Protocol:
    """A treatment protocol (or a referral when no standard protocol exists)."""

    id: str
    title: str
    modality: ProtocolKind
    drug: str | None
    priority: int
    when: Condition
    summary: str
    current: Q | None = None
    current_min: Q | None = None
    current_max: Q | None = None
    ramp: str = ""
    duration: Q | None = None
    target_dose: Q | None = None
    polarity: Polarity | None = None
    polarity_note: str = ""
    electrode_area: Q | None = None
    solution: str = ""
    additives: tuple[str, ...] = ()
    max_current: Q | None = None
    max_dose: Q | None = None
    max_current_density: Q | None = None
    schedule: Schedule | None = None
    precautions: tuple[str, ...] = ()
    aftercare: tuple[str, ...] = ()
    monitoring: tuple[str, ...] = ()
    side_effects: tuple[SideEffectAction, ...] = ()
    expected_efficacy: str = ""
    references: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    """Facts the plan cannot be made without (``needs_information`` until answered)."""
    variants: tuple[Variant, ...] = ()
    location: Location | None = field(default=None, compare=False)
    review: Review = UNREVIEWED

    def variant(self, name: str) -> Variant | None:
        """The protocol's parameter set of that name, if it has one."""
        return next((v for v in self.variants if v.name == name), None)

    @property
    def is_referral(self) -> bool:
        """True when this entry is a referral, not a treatment."""
        return self.modality is ProtocolKind.REFERRAL

    def targets(self) -> frozenset[str]:
        """The applies_to keys whose rules steer this protocol: its modality and its drug."""
        keys = {self.modality.value}
        if self.drug:
            keys.add(self.drug)
        return frozenset(keys)
