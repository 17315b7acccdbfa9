"""The treatment-course vocabulary (adverse effects, tolerance, scores) read from rules/course/."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ionto_cds.errors import Location, RuleError, RuleSetError, quote
from ionto_cds.language.packaged import COURSE_DIR, packaged_rules_dir
from ionto_cds.language.treatment import RESPONSES
from ionto_cds.language.yamlsource import LocatedMap, key_line, line_of, load_yaml_file

COURSE_FILE = Path(COURSE_DIR) / "course.yaml"

@dataclass(frozen=True)
class AdverseEffect:
    """One adverse effect a session may record, and the default advice on it.

    A protocol's own advice is its side effect naming this key (``Protocol.side_effects``);
    ``response`` and ``action`` apply when the protocol names none.
    """

    key: str
    label: str
    response: str
    action: str


@dataclass(frozen=True)
class Tolerance:
    """How a session was tolerated, and the least response it calls for."""

    key: str
    label: str
    response: str


@dataclass(frozen=True)
class Score:
    """A whole-number response scale (HDSS, pain)."""

    key: str
    label: str
    min: int
    max: int


@dataclass(frozen=True)
class Escalation:
    """When a course counts as an adequate failed trial (an inference, stated as such)."""

    modality: str
    min_hdss_improvement: int


@dataclass(frozen=True)
class CourseVocabulary:
    """Everything rules/course/course.yaml defines."""

    version: str
    responses: Mapping[str, str]
    adverse_effects: Mapping[str, AdverseEffect]
    tolerance: Mapping[str, Tolerance]
    scores: Mapping[str, Score]
    escalation: Escalation
    file: str

    @staticmethod
    def severity(response: str) -> int:
        """Rank of a response class: 0 is the most severe (stop)."""
        return RESPONSES.index(response)

    def most_severe(self, responses: list[str]) -> str:
        """The most severe of some response classes ('expected' for none)."""
        return min(responses, key=self.severity) if responses else "expected"


class _Reader:
    def __init__(self, file: str) -> None:
        self.file = file
        self.errors: list[RuleError] = []

    def fail(self, where: object, key: str | None, message: str) -> None:
        line = key_line(where, key) if key is not None else line_of(where)
        self.errors.append(RuleError(Location(self.file, line), message))

    def mapping(self, parent: Any, key: str) -> Mapping[str, Any]:
        value = parent.get(key) if isinstance(parent, Mapping) else None
        if not isinstance(value, Mapping) or not value:
            self.fail(parent, key, f"'{key}' must be a non-empty mapping")
            return {}
        return value

    def text(self, parent: Mapping[str, Any], key: str, owner: str) -> str:
        value = parent.get(key)
        if not isinstance(value, str) or not value.strip():
            self.fail(parent, key, f"{owner}: '{key}' must be a non-empty text")
            return ""
        return value.strip()

    def integer(self, parent: Mapping[str, Any], key: str, owner: str) -> int:
        value = parent.get(key)
        if not isinstance(value, int) or isinstance(value, bool):
            self.fail(parent, key, f"{owner}: '{key}' must be a whole number")
            return 0
        return value

    def response(self, parent: Mapping[str, Any], owner: str) -> str:
        value = parent.get("response")
        if value not in RESPONSES:
            self.fail(parent, "response", f"{owner}: 'response' must be one of "
                      f"{', '.join(RESPONSES)}, got {quote(value)}")
            return "expected"
        return str(value)


def load_course_vocabulary(path: str | Path | None = None) -> CourseVocabulary:
    """Read and check a course vocabulary file (the packaged rules/course/course.yaml by default).

    Raises :class:`~ionto_cds.errors.RuleSetError` listing every mistake with file:line.
    """
    file = Path(path) if path is not None else packaged_rules_dir() / COURSE_FILE
    data = load_yaml_file(file)
    r = _Reader(str(file))
    if not isinstance(data, LocatedMap):
        raise RuleSetError([RuleError(Location(str(file), 1), "expected a mapping with "
                                      "version, responses, adverse_effects, tolerance, scores "
                                      "and escalation")])
    version = data.get("version")
    if not isinstance(version, str):
        r.fail(data, "version", "'version' must be a text such as \"2026.1\"")
    known = {"version", "responses", "adverse_effects", "tolerance", "scores", "escalation"}
    for key in data:
        if key not in known:
            r.fail(data, key, f"unknown key '{key}' (expected one of {', '.join(sorted(known))})")
    responses = _responses(r, data)
    effects = _effects(r, data)
    tolerance = _tolerance(r, data)
    scores = _scores(r, data)
    raw_escalation = r.mapping(data, "escalation")
    escalation = Escalation(r.text(raw_escalation, "modality", "escalation"),
                            r.integer(raw_escalation, "min_hdss_improvement", "escalation"))
    if r.errors:
        raise RuleSetError(r.errors)
    return CourseVocabulary(str(version), responses, effects, tolerance, scores, escalation,
                            str(file))


def _responses(r: _Reader, data: LocatedMap) -> dict[str, str]:
    responses: dict[str, str] = {}
    raw_responses = r.mapping(data, "responses")
    for name in RESPONSES:
        if name not in raw_responses:
            r.fail(raw_responses, None, f"responses: '{name}' needs a headline")
    for name in raw_responses:
        if name not in RESPONSES:
            r.fail(raw_responses, name, f"responses: unknown class '{name}' "
                   f"(expected one of {', '.join(RESPONSES)})")
        else:
            responses[name] = r.text(raw_responses, name, "responses")
    return responses


def _effects(r: _Reader, data: LocatedMap) -> dict[str, AdverseEffect]:
    effects: dict[str, AdverseEffect] = {}
    for key, entry in r.mapping(data, "adverse_effects").items():
        owner = f"adverse effect '{key}'"
        if not isinstance(entry, Mapping):
            r.fail(data["adverse_effects"], key, f"{owner} must be a mapping")
            continue
        for name in entry:
            if name not in ("label", "response", "action"):
                r.fail(entry, name, f"{owner}: unknown key '{name}' (expected label, response "
                       "and action)")
        effects[key] = AdverseEffect(key, r.text(entry, "label", owner),
                                     r.response(entry, owner), r.text(entry, "action", owner))
    return effects


def _tolerance(r: _Reader, data: LocatedMap) -> dict[str, Tolerance]:
    tolerance: dict[str, Tolerance] = {}
    for key, entry in r.mapping(data, "tolerance").items():
        owner = f"tolerance '{key}'"
        if not isinstance(entry, Mapping):
            r.fail(data["tolerance"], key, f"{owner} must be a mapping")
            continue
        tolerance[key] = Tolerance(key, r.text(entry, "label", owner), r.response(entry, owner))
    return tolerance


def _scores(r: _Reader, data: LocatedMap) -> dict[str, Score]:
    scores: dict[str, Score] = {}
    raw_scores = r.mapping(data, "scores")
    for needed in ("hdss", "pain"):
        if needed not in raw_scores:
            r.fail(raw_scores, None, f"scores: '{needed}' is needed")
    for key, entry in raw_scores.items():
        owner = f"score '{key}'"
        if not isinstance(entry, Mapping):
            r.fail(raw_scores, key, f"{owner} must be a mapping")
            continue
        low, high = r.integer(entry, "min", owner), r.integer(entry, "max", owner)
        if low >= high:
            r.fail(entry, "max", f"{owner}: 'max' must be above 'min'")
        scores[key] = Score(key, r.text(entry, "label", owner), low, high)
    return scores


def vocabulary_for(rules_dir: Path | None) -> CourseVocabulary:
    """The course vocabulary beside a rules folder, or the packaged one when it has none."""
    if rules_dir is not None and (rules_dir / COURSE_FILE).is_file():
        return load_course_vocabulary(rules_dir / COURSE_FILE)
    return load_course_vocabulary()
