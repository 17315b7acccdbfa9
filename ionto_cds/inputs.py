"""Patient and session files read as plain mappings: YAML or JSON, safely, with clear errors.

JSON is read as strictly as YAML: a key given twice is refused (never "the last one wins"),
numbers must be finite and short (:mod:`~ionto_cds.language.jsonsource`), and nesting and file
size are bounded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ionto_cds.errors import InputFileError, JSONRefused, RuleError, quote
from ionto_cds.language.jsonsource import strict_json
from ionto_cds.language.yamlsource import load_yaml_text

MAX_FILE_BYTES = 2_000_000
"""Largest patient, session or record file read (JSON)."""
MAX_YAML_BYTES = 200_000
"""Largest YAML patient or session file read: thousands of answers, and read in well under a
second (YAML is slow to parse; a patient file is a few kilobytes)."""


def read_text_file(path: Path) -> str:
    """A UTF-8 text file of bounded size, or :class:`InputFileError` saying why not."""
    if not path.is_file():
        raise InputFileError(str(path), "no such file")
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InputFileError(str(path), f"the file is {size:,} bytes: at most "
                                 f"{MAX_FILE_BYTES:,}")
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputFileError(str(path), "the file is not UTF-8 text") from None
    except OSError as exc:
        raise InputFileError(str(path), f"cannot read the file: {exc.strerror}") from None


def read_patient_file(path: Path) -> dict[str, Any]:
    """Read a patient's answers (or a session record) from YAML or JSON as a plain mapping."""
    return read_answers_text(read_text_file(path), str(path))


def read_answers_text(text: str, name: str) -> dict[str, Any]:
    """Answers (or a session record) from the text of a YAML or JSON file called ``name``."""
    if not text.strip():
        raise InputFileError(name, "the file is empty: write one 'fact: answer' per line")
    if len(text) > MAX_FILE_BYTES:
        raise InputFileError(name, f"{len(text):,} characters: at most {MAX_FILE_BYTES:,}")
    if not name.lower().endswith(".json") and len(text) > MAX_YAML_BYTES:
        raise InputFileError(name, f"{len(text):,} characters of YAML: at most "
                             f"{MAX_YAML_BYTES:,} (or write JSON)")
    if name.lower().endswith(".json"):
        try:
            data = strict_json(text)
        except JSONRefused as exc:
            raise InputFileError(name, str(exc)) from None
    else:
        try:
            data = load_yaml_text(text, name)
        except RuleError as exc:
            line = exc.location.line
            raise InputFileError(name, f"line {line}: {exc.message}" if line else exc.message
                                 ) from None
    if not isinstance(data, dict):
        raise InputFileError(name, f"expected a mapping of 'fact: answer' lines, got "
                             f"{quote(data)}")
    return dict(data)
