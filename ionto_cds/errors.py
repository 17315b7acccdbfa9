"""Every error ionto-cds raises; all derive from :class:`IontoError`.

Each error keeps its facts as fields and builds its message from them in ``__str__`` (the
message is for the user: it says what is wrong and what to do, never a traceback). Values
given by a user are shown through :func:`quote`: short, with invisible characters escaped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

QUOTE_LIMIT = 80
"""At most this many characters of a user's value are echoed in a message."""


def quote(value: object, limit: int = QUOTE_LIMIT) -> str:
    """A user's value as a message shows it: quoted text, control and invisible characters
    escaped, cut to ``limit`` characters; numbers and yes/no as written; never a type name."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int) and not isinstance(value, bool):
        text = str(value) if value.bit_length() < 200 else "a number with more than 60 digits"
        return text if len(text) <= 60 else "a number with more than 60 digits"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | tuple | set | frozenset):
        return "a list" if value else "an empty list"
    if isinstance(value, dict):
        return "a mapping"
    text = value if isinstance(value, str) else str(value)
    shown = "".join(_visible(ch) for ch in text[: limit + 1])
    if len(text) > limit or len(shown) > limit:
        shown = shown[:limit] + f"… ({len(text):,} characters)"
    return f"'{shown}'"


def _visible(ch: str) -> str:
    code = ord(ch)
    if ch == "\n":
        return "\\n"
    if ch == "\t":
        return "\\t"
    if code < 0x20 or code == 0x7F or 0x80 <= code < 0xA0:
        return f"\\x{code:02x}"
    if code in (0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x00AD) or 0x202A <= code <= 0x202E \
            or 0x2066 <= code <= 0x2069:
        return f"\\u{code:04x}"
    return ch


class IontoError(Exception):
    """Base of all ionto-cds errors: the message is meant for the user, never a traceback."""


@dataclass(frozen=True)
class Location:
    """Where something was written: a file and a 1-based line (None when unknown)."""

    file: str
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line is not None else self.file


class RuleError(IontoError, ValueError):
    """One mistake in a rule file, with its location and what to do about it."""

    def __init__(self, location: Location, message: str) -> None:
        super().__init__(location, message)
        self.location = location
        self.message = message

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


class RuleSetError(IontoError, ValueError):
    """A rules folder that cannot be loaded; carries every mistake found, not just the first."""

    def __init__(self, errors: Sequence[RuleError]) -> None:
        super().__init__(tuple(errors))
        self.errors = tuple(errors)

    def __str__(self) -> str:
        count = len(self.errors)
        head = f"the rules have {count} error{'s' if count != 1 else ''}:"
        return "\n".join([head, *(f"  {e}" for e in self.errors)])


class UnitError(IontoError, ValueError):
    """A quantity that cannot be read: what was expected, what was given, and why not."""

    def __init__(self, given: object, expected: str, problem: str = "") -> None:
        super().__init__(given, expected, problem)
        self.given = given
        self.expected = expected
        self.problem = problem

    @property
    def message(self) -> str:
        """The message without a subject (what a field or cell shows beside itself)."""
        why = f" ({self.problem})" if self.problem else ""
        return f"expected {self.expected}, got {quote(self.given)}{why}"

    def __str__(self) -> str:
        return self.message


class GrammarError(IontoError, ValueError):
    """Text the quantity grammar cannot read, and why (reported to the user as a UnitError that
    names the field's expected dimension)."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem

    def __str__(self) -> str:
        return self.problem


class JSONRefused(IontoError, ValueError):
    """JSON the strict reader refuses, and why (a key given twice, a number out of range...);
    reported with the file's name as an InputFileError."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem

    def __str__(self) -> str:
        return self.problem


class AnswerError(IontoError, ValueError):
    """One answer that cannot be read for its question (the fact's name is added by the caller).
    """

    def __init__(self, given: object, problem: str) -> None:
        super().__init__(given, problem)
        self.given = given
        self.problem = problem

    def __str__(self) -> str:
        return self.problem


@dataclass(frozen=True)
class AnswerProblem:
    """One bad answer: which fact, the value given, and why it was refused."""

    fact: str
    value: object
    message: str

    def __str__(self) -> str:
        return f"{self.fact}: {self.message}"


class PatientDataError(IontoError, ValueError):
    """Patient answers that cannot be assessed; lists every bad answer at once."""

    def __init__(self, problems: Iterable[AnswerProblem], source: str | None = None,
                 total: int | None = None) -> None:
        self.problems = tuple(problems)
        self.source = source
        self.total = max(total or 0, len(self.problems))
        super().__init__(self.problems)

    def __str__(self) -> str:
        where = f" in {self.source}" if self.source else ""
        count = self.total
        shown = (f" (the first {len(self.problems)} shown)" if count > len(self.problems)
                 else "")
        head = f"{count:,} answer{'s' if count != 1 else ''}{where} cannot be used{shown}:"
        return "\n".join([head, *(f"  {p}" for p in self.problems)])


class UsageError(IontoError, ValueError):
    """A command given values that cannot work together (e.g. both or neither of two options)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InputFileError(IontoError, ValueError):
    """A patient or cohort file that cannot be read (missing, empty, malformed, wrong shape)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(path, message)
        self.path = path
        self.message = message

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class PlanInfeasible(IontoError, ValueError):
    """A protocol that cannot be planned: the limits leave no safe current within its range.

    ``minimum_area`` is set when only the electrode is too small: the smallest active
    electrode whose density limit still allows the protocol's minimum current (the remedy).
    """

    def __init__(self, protocol: str, problem: str, minimum_area: Any = None) -> None:
        super().__init__(protocol, problem)
        self.protocol = protocol
        self.problem = problem
        self.minimum_area = minimum_area

    def __str__(self) -> str:
        return self.problem


class OverrideError(IontoError, ValueError):
    """An override that cannot be recorded (an absolute finding, no reason, no comment)."""

    def __init__(self, rule: str, problem: str) -> None:
        super().__init__(rule, problem)
        self.rule = rule
        self.problem = problem

    def __str__(self) -> str:
        return f"rule '{self.rule}': {self.problem}"


class ProgramError(IontoError, RuntimeError):
    """An inconsistency inside ionto-cds itself (a bug to report, never a user mistake)."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what

    def __str__(self) -> str:
        return f"internal error: {self.what} (please report this)"


@dataclass(frozen=True)
class SessionProblem:
    """One bad field of a treatment-session record: the field, the value given, and why."""

    field: str
    value: object
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class SessionDataError(IontoError, ValueError):
    """A treatment session that cannot be logged; lists every problem at once."""

    def __init__(self, problems: Iterable[SessionProblem], course_id: str | None = None) -> None:
        self.problems = tuple(problems)
        self.course_id = course_id
        super().__init__(self.problems)

    def __str__(self) -> str:
        course = f" for course '{self.course_id}'" if self.course_id else ""
        count = len(self.problems)
        head = (f"the session{course} cannot be logged ({count} problem"
                f"{'s' if count != 1 else ''}):")
        return "\n".join([head, *(f"  {p}" for p in self.problems)])


class UnknownCourseError(IontoError, KeyError):
    """A course id with no sessions in the log."""

    def __init__(self, course_id: str, path: str) -> None:
        super().__init__(course_id, path)
        self.course_id = course_id
        self.path = path

    def __str__(self) -> str:
        return f"no sessions are logged for course '{self.course_id}' in {self.path}"


class CourseLogError(IontoError, RuntimeError):
    """The course-log database cannot be opened or written (path, and what went wrong)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(path, message)
        self.path = path
        self.message = message

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass(frozen=True)
class FhirProblem:
    """One thing wrong in a FHIR Bundle: which entry (resource type and id), which field, why."""

    where: str
    field: str
    message: str

    def __str__(self) -> str:
        field = f" {self.field}:" if self.field else ""
        return f"{self.where}:{field} {self.message}"


class FhirBundleError(IontoError, ValueError):
    """A FHIR Bundle that is not valid FHIR R4 (or not one ionto-cds reads); every problem found,
    each naming the resource and the field."""

    MAX_SHOWN = 10

    def __init__(self, source: str, problems: Iterable[FhirProblem]) -> None:
        self.source = source
        self.problems = tuple(problems)
        super().__init__(source, self.problems)

    def __str__(self) -> str:
        count = len(self.problems)
        shown = self.problems[: self.MAX_SHOWN]
        more = f" (the first {len(shown)} shown)" if count > len(shown) else ""
        head = (f"{self.source}: not a FHIR R4 Bundle ionto-cds can read, {count} problem"
                f"{'s' if count != 1 else ''}{more}:")
        return "\n".join([head, *(f"  {p}" for p in shown)])


class DecisionLogError(IontoError, RuntimeError):
    """The CDS Hooks decision log cannot be opened or written (path, and what went wrong)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(path, message)
        self.path = path
        self.message = message

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class HookAuthError(IontoError, ValueError):
    """A CDS Hooks call without a valid token from a trusted CDS Client: sent back as HTTP 401
    with this message."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class HookRequestError(IontoError, ValueError):
    """A CDS Hooks request that cannot be served (malformed JSON, a missing field...): sent
    back as HTTP 400 with this message."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message
