"""Patient and session files read as plain mappings: YAML or JSON, safely, with clear errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ionto_cds.errors import InputFileError, RuleError, quote
from ionto_cds.language.yamlsource import load_yaml_text


def read_patient_file(path: Path) -> dict[str, Any]:
    """Read a patient's answers (or a session record) from YAML or JSON as a plain mapping."""
    if not path.is_file():
        raise InputFileError(str(path), "no such file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputFileError(str(path), "the file is not UTF-8 text") from None
    except OSError as exc:
        raise InputFileError(str(path), f"cannot read the file: {exc.strerror}") from None
    return read_answers_text(text, str(path))


def read_answers_text(text: str, name: str) -> dict[str, Any]:
    """Answers (or a session record) from the text of a YAML or JSON file called ``name``."""
    if not text.strip():
        raise InputFileError(name, "the file is empty: write one 'fact: answer' per line")
    if name.lower().endswith(".json"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputFileError(name, f"malformed JSON at line {exc.lineno}: {exc.msg}"
                                 ) from None
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
