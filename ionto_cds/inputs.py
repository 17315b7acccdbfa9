"""Patient and session files read as plain mappings: YAML or JSON, safely, with clear errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ionto_cds.errors import InputFileError, RuleError
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
    if not text.strip():
        raise InputFileError(str(path), "the file is empty: write one 'fact: answer' per line")
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputFileError(str(path), f"malformed JSON at line {exc.lineno}: {exc.msg}"
                                 ) from None
    else:
        try:
            data = load_yaml_text(text, str(path))
        except RuleError as exc:
            line = exc.location.line
            raise InputFileError(str(path), f"line {line}: {exc.message}" if line else exc.message
                                 ) from None
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else f"'{data}'"
        raise InputFileError(str(path), f"expected a mapping of 'fact: answer' lines, got {kind}")
    return dict(data)
