"""Safe YAML reading that keeps the line of every mapping, key and list item.

PyYAML only *composes* the document into nodes here; values are built by this module from the
core YAML types. A tag that asks for any other object is refused, so no YAML can run code.
Plain scalars are read by the YAML 1.2 core schema, not PyYAML's YAML 1.1 one: ``010`` is ten
(not octal eight), ``1:30`` is text (not ninety), ``yes``/``on`` are words (the fact catalog
reads yes/no answers). Numbers are bounded, as are nesting depth, string length and the node
count (alias bombs).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ionto_cds.errors import Location, RuleError

_CORE = "tag:yaml.org,2002:"
_SCALAR_TAGS = {f"{_CORE}{t}" for t in ("str", "int", "float", "bool", "null", "timestamp")}
_MAX_NODES = 200_000  # a guard against alias bombs ("billion laughs")
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when built with it: faster
MAX_DEPTH = 64
"""Deepest nesting of mappings and lists read."""
MAX_STRING = 20_000
"""Longest text value read (characters)."""
MAX_DIGITS = 18
"""Most digits in a whole number (beyond, it is no clinical answer)."""
_NULL = re.compile(r"~|null|Null|NULL|")
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False,
         "FALSE": False}
_INT = re.compile(r"[-+]?[0-9]+")
_INT_OTHER = re.compile(r"0o[0-7]+|0x[0-9a-fA-F]+")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")


class LocatedMap(dict[str, Any]):
    """A YAML mapping that remembers its own line and the line of each key.

    The line is required, so even an empty mapping standing in for a missing one points at a
    place in the file (the line where it would have been written).
    """

    def __init__(self, items: Mapping[str, Any] | Iterable[tuple[str, Any]] = (), /, *, line: int,
                 key_lines: dict[str, int] | None = None) -> None:
        super().__init__(items)
        self.line = line
        self.key_lines: dict[str, int] = {} if key_lines is None else key_lines


class LocatedList(list[Any]):
    """A YAML sequence that remembers its own line and the line of each item."""

    def __init__(self, items: Iterable[Any] = (), /, *, line: int,
                 item_lines: list[int] | None = None) -> None:
        super().__init__(items)
        self.line = line
        self.item_lines: list[int] = [] if item_lines is None else item_lines


def line_of(value: object, default: int | None = None) -> int | None:
    """The line a mapping or list started on, if it carries one."""
    return getattr(value, "line", default)


def key_line(mapping: object, key: str) -> int | None:
    """The line of ``key`` in a located mapping (falls back to the mapping's own line)."""
    if isinstance(mapping, LocatedMap):
        return mapping.key_lines.get(key, mapping.line)
    return None


def item_line(sequence: object, index: int) -> int | None:
    """The line of item ``index`` in a located list."""
    if isinstance(sequence, LocatedList) and index < len(sequence.item_lines):
        return sequence.item_lines[index]
    return line_of(sequence)


class _Builder:
    def __init__(self, file: str) -> None:
        self.file = file
        self.count = 0

    def at(self, node: Node) -> Location:
        """Where a node starts."""
        return Location(self.file, node.start_mark.line + 1)

    def build(self, node: Node, depth: int = 0) -> Any:
        self.count += 1
        if self.count > _MAX_NODES:
            raise RuleError(self.at(node), "the file is too large or expands aliases without end")
        if depth > MAX_DEPTH:
            raise RuleError(self.at(node), f"nested more than {MAX_DEPTH} levels deep: write "
                            "plain 'key: value' entries")
        if isinstance(node, ScalarNode):
            return self.scalar(node)
        if isinstance(node, SequenceNode):
            self.check_tag(node, f"{_CORE}seq")
            out = LocatedList(line=node.start_mark.line + 1)
            for item in node.value:
                out.append(self.build(item, depth + 1))
                out.item_lines.append(item.start_mark.line + 1)
            return out
        if isinstance(node, MappingNode):
            self.check_tag(node, f"{_CORE}map")
            mapping = LocatedMap(line=node.start_mark.line + 1)
            for key_node, value_node in node.value:
                if key_node.tag == f"{_CORE}merge":
                    raise RuleError(self.at(key_node), "YAML merge keys ('<<') are not supported: "
                                     "write the entries out")
                key = self.build(key_node, depth + 1)
                if not isinstance(key, str | int | float | bool) or key is None:
                    raise RuleError(self.at(key_node), "a key must be a plain word")
                key = str(key) if not isinstance(key, str) else key
                if key in mapping:
                    raise RuleError(self.at(key_node), f"duplicate key '{key}': each key may "
                                    "appear once in a mapping; remove or rename one")
                mapping[key] = self.build(value_node, depth + 1)
                mapping.key_lines[key] = key_node.start_mark.line + 1
            return mapping
        raise RuleError(self.at(node), "unsupported YAML node")

    def check_tag(self, node: Node, allowed: str) -> None:
        if node.tag != allowed:
            raise RuleError(self.at(node), self.tag_problem(node))

    def tag_problem(self, node: Node) -> str:
        tag = node.tag.replace(_CORE, "!!", 1) if node.tag.startswith(_CORE) else node.tag
        return f"YAML tag '{tag}' is not allowed: rules and answers are plain data; remove the tag"

    def scalar(self, node: ScalarNode) -> Any:
        if node.tag not in _SCALAR_TAGS:
            raise RuleError(self.at(node), self.tag_problem(node))
        text = node.value
        if len(text) > MAX_STRING:
            raise RuleError(self.at(node), f"a value of {len(text)} characters is too long "
                            f"(at most {MAX_STRING})")
        if node.style:  # quoted or a block ('' or None is plain, by parser)
            return text
        return self.core(node, text)

    def core(self, node: ScalarNode, text: str) -> Any:
        """A plain scalar by the YAML 1.2 core schema (timestamps stay as written)."""
        if _NULL.fullmatch(text):
            return None
        if text in _BOOL:
            return _BOOL[text]
        if _INT.fullmatch(text) or _INT_OTHER.fullmatch(text):
            if len(text.lstrip("+-")) > MAX_DIGITS:
                raise RuleError(self.at(node), f"the number {text[:20]}... has {len(text)} "
                                f"digits: at most {MAX_DIGITS}")
            return int(text, 0) if _INT_OTHER.fullmatch(text) else int(text, 10)
        if _FLOAT.fullmatch(text):
            number = float(text)
            if not math.isfinite(number) or abs(number) > 1e15:
                raise RuleError(self.at(node), f"the number {text[:40]} is out of range")
            return number
        if text.lower() in (".inf", "-.inf", "+.inf", ".nan"):
            raise RuleError(self.at(node), f"'{text}' is not a usable number")
        return text


def _compose(text: str) -> Any:
    """Compose with libyaml (fast); on a mistake compose again in Python, whose messages say
    more (where an unclosed bracket starts)."""
    try:
        return yaml.compose(text, Loader=_LOADER)
    except yaml.YAMLError:
        if _LOADER is yaml.SafeLoader:
            raise
        return yaml.compose(text, Loader=yaml.SafeLoader)


def load_yaml_text(text: str, file: str) -> Any:
    """Parse one YAML document into located plain data; raise :class:`RuleError` with the line."""
    try:
        node = _compose(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "cannot be read"
        if "stream end" in problem and exc.context_mark is not None:
            # An unclosed bracket or quote: point at where it was opened, not at the file's end.
            mark = exc.context_mark
            problem = f"{exc.context} that starts here is never closed"
        line = mark.line + 1 if mark is not None else None
        raise RuleError(Location(file, line), f"malformed YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise RuleError(Location(file), f"malformed YAML: {exc}") from None
    except (ValueError, RecursionError) as exc:
        raise RuleError(Location(file), f"malformed YAML: {exc}") from None
    if node is None:
        return None
    try:
        return _Builder(file).build(node)
    except RuleError:
        raise
    except RecursionError:
        raise RuleError(Location(file), "the YAML is nested too deeply") from None
    except (ValueError, TypeError, OverflowError) as exc:
        raise RuleError(Location(file), f"malformed YAML value: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise RuleError(Location(file, line), f"malformed YAML: {exc}") from None


def load_yaml_file(path: Path) -> Any:
    """Read and parse a YAML file; unreadable files become a :class:`RuleError` too."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise RuleError(Location(str(path)), "the file is not UTF-8 text") from None
    except OSError as exc:
        raise RuleError(Location(str(path)), f"cannot read the file: {exc.strerror}") from None
    return load_yaml_text(text, str(path))
