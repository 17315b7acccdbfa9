"""JSON read as strictly as YAML (:mod:`~ionto_cds.language.yamlsource`).

A key given twice is refused (never "the last one wins"), numbers must be finite and of at most
:data:`~ionto_cds.language.yamlsource.MAX_DIGITS` digits, and nesting is bounded.
"""

from __future__ import annotations

import json
import math
from typing import Any

from ionto_cds.errors import JSONRefused, quote
from ionto_cds.language.yamlsource import MAX_DEPTH, MAX_DIGITS


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise JSONRefused(f"the key {quote(key)} is given twice: keep one answer")
        out[key] = value
    return out


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise JSONRefused(f"a number of {len(text)} digits: at most {MAX_DIGITS}")
    return int(text)


def _float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number) or abs(number) > 1e15:
        raise JSONRefused(f"the number {text[:40]} is out of range")
    return number


def _constant(text: str) -> Any:
    raise JSONRefused(f"{text} is not a number JSON allows")


def _depth(value: object) -> int:
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(item, dict):
            stack += [(v, depth + 1) for v in item.values()]
        elif isinstance(item, list):
            stack += [(v, depth + 1) for v in item]
    return deepest


def strict_json(text: str) -> Any:
    """Parse JSON strictly (see the module); raise :class:`JSONRefused` saying why."""
    try:
        data = json.loads(text, object_pairs_hook=_pairs, parse_int=_int, parse_float=_float,
                          parse_constant=_constant)
    except json.JSONDecodeError as exc:
        raise JSONRefused(f"malformed JSON at line {exc.lineno}: {exc.msg}") from None
    except RecursionError:
        raise JSONRefused(f"nested more than {MAX_DEPTH} levels deep") from None
    if _depth(data) > MAX_DEPTH:
        raise JSONRefused(f"nested more than {MAX_DEPTH} levels deep")
    return data
