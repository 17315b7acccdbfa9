"""Every error ionto-cds raises for a user mistake; all derive from :class:`IontoError`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


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
    """A quantity string that cannot be parsed or has the wrong dimension."""

    def __init__(self, text: str, message: str) -> None:
        super().__init__(text, message)
        self.text = text
        self.message = message

    def __str__(self) -> str:
        return self.message


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

    def __init__(self, problems: Iterable[AnswerProblem], source: str | None = None) -> None:
        self.problems = tuple(problems)
        self.source = source
        super().__init__(self.problems)

    def __str__(self) -> str:
        where = f" in {self.source}" if self.source else ""
        count = len(self.problems)
        head = f"{count} answer{'s' if count != 1 else ''}{where} cannot be used:"
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
