"""A mutant: one edit of the parsed rule documents, applied without changing the original.

The documents are the located trees of :mod:`~ionto_cds.language.yamlsource` keyed by file
name; an edit names a place by its path from a file's top mapping (keys and list indexes) and
gives the new value, or :data:`DELETE`. Only the containers on that path are copied, each with
its lines, so a mutant costs a few small copies and the loader still reports file:line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from ionto_cds.errors import ProgramError
from ionto_cds.language.yamlsource import LocatedList, LocatedMap

Step = str | int
"""One step of a path: a mapping key or a list index."""


class _Delete(Enum):
    DELETE = "delete"


DELETE = _Delete.DELETE
"""The value of an edit that removes a key or a list item."""


@dataclass(frozen=True)
class Mutant:
    """One semantic change to a rule set, said in clinical words."""

    operator: str
    """The operator class, e.g. 'severity' or 'protocol limit' (survivors are counted by it)."""
    file: str
    line: int | None
    words: str
    """What changed, e.g. 'protocol x: maximum dose 600 mA·min doubled to 1200 mA·min'."""
    path: tuple[Step, ...]
    value: Any
    """The new value, or :data:`DELETE`."""

    @property
    def where(self) -> str:
        """'protocols.yaml:118' (the file alone when the line is unknown)."""
        return f"{self.file}:{self.line}" if self.line is not None else self.file


def located_map(items: Mapping[str, Any], like: object) -> LocatedMap:
    """A new located mapping with the lines of ``like`` (a mapping written in its place)."""
    line = getattr(like, "line", 1)
    lines = getattr(like, "key_lines", {})
    return LocatedMap(items, line=line, key_lines={key: lines.get(key, line) for key in items})


def apply(documents: Mapping[str, Any], mutant: Mutant) -> dict[str, Any]:
    """The documents with the mutant's edit made (the originals are left as they were)."""
    out = dict(documents)
    out[mutant.file] = _edited(documents[mutant.file], mutant.path, mutant.value)
    return out


def _edited(node: Any, path: tuple[Step, ...], value: Any) -> Any:
    step, rest = path[0], path[1:]
    if isinstance(node, LocatedMap) and isinstance(step, str):
        copy = located_map(node, node)
        if not rest and value is DELETE:
            del copy[step]
            del copy.key_lines[step]
        else:
            copy[step] = value if not rest else _edited(node[step], rest, value)
        return copy
    if isinstance(node, LocatedList) and isinstance(step, int):
        items = LocatedList(node, line=node.line, item_lines=list(node.item_lines))
        if not rest and value is DELETE:
            del items[step]
            del items.item_lines[step]
        else:
            items[step] = value if not rest else _edited(node[step], rest, value)
        return items
    raise ProgramError(f"a mutant's path step {step!r} does not fit its document")
