"""The pathway's column layout in pure Python: stages are columns, groups are frames stacked in
each column, and every node a box whose height follows its wrapped text."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from ionto_cds.render.pathway.graph import STAGES, BoxKind, Group, Node, Pathway

FONT = "DejaVu Sans, Verdana, Arial, Helvetica, sans-serif"
MARGIN = 20
GAP = 84  # between columns: room for the edges and their labels
# wider after the decision column: forward and backward edges meet there
GAP_AFTER = {"decision": 170}
COLUMN_WIDTH = {"answers": 210, "screen": 470, "decision": 175, "protocols": 450, "dose": 250}
PAD = 8
TITLE_SIZE, TITLE_LINE = 13.0, 16.5
TEXT_SIZE, TEXT_LINE = 11.5, 14.5
MARK_SIZE, MARK_LINE = 11.5, 15.0
GROUP_HEAD = 22.0
NODE_GAP = 7.0
INDENT = 20.0  # steering rules sit under their protocol


def wrap(text: str, width: float, size: float, bold: bool = False) -> list[str]:
    chars = max(8, int((width - 2 * PAD) / (size * (0.64 if bold else 0.58))))
    # fact names break after their underscores rather than mid-word
    lines = textwrap.wrap(text.replace("_", "_ "), chars, break_long_words=True,
                          break_on_hyphens=True)
    return [line.replace("_ ", "_") for line in lines] or [""]


@dataclass
class Box:
    """A laid-out rectangle."""

    x: float
    y: float
    w: float
    h: float

    @property
    def mid_y(self) -> float:
        return self.y + self.h / 2


@dataclass
class NodeText:
    marker: list[str]
    note: list[str]
    title: list[str]
    lines: list[str]

    def height(self) -> float:
        return (2 * PAD + MARK_LINE * (len(self.marker) + len(self.note))
                + TITLE_LINE * len(self.title) + TEXT_LINE * len(self.lines))


def node_text(node: Node, width: float) -> NodeText:
    marker = [node.status.marker] if node.status.marker else []
    note = wrap(node.note, width, MARK_SIZE) if node.note else []
    lines = [piece for line in node.lines for piece in wrap(line, width, TEXT_SIZE)]
    return NodeText(marker, note, wrap(node.title, width, TITLE_SIZE, bold=True), lines)


class Layout:
    """Positions of every node and group."""

    def __init__(self, pathway: Pathway) -> None:
        self.p = pathway
        self.nodes: dict[str, Box] = {}
        self.texts: dict[str, NodeText] = {}
        self.groups: dict[str, Box] = {}
        self.columns: dict[str, float] = {}
        x = MARGIN
        for stage, _title in STAGES:
            self.columns[stage] = x
            x += COLUMN_WIDTH[stage] + GAP_AFTER.get(stage, GAP)
        self.width = x - GAP + MARGIN
        self.top = 0.0
        self.height = 0.0

    def run(self, top: float) -> None:
        self.top = top
        bottoms = []
        for stage, _title in STAGES:
            bottoms.append(self._stage(stage, top))
        self.height = max(bottoms) + MARGIN

    def _stage(self, stage: str, top: float) -> float:
        x, width = self.columns[stage], COLUMN_WIDTH[stage]
        tops = [g for g in self.p.groups if g.stage == stage and g.parent is None]
        y = top
        for group in tops:
            children = [g for g in self.p.groups if g.parent == group.id]
            start = y
            y += GROUP_HEAD + 4
            if children:
                for child in children:
                    y = self._group(child, x + 6, width - 12, y) + 10
            else:
                y = self._nodes(group, x + 6, width - 12, y)
            self.groups[group.id] = Box(x, start, width, y - start + 4)
            y += 18
        return y

    def _group(self, group: Group, x: float, width: float, y: float) -> float:
        start = y
        if group.stage == "protocols":
            y += 6
        else:
            y += GROUP_HEAD
        y = self._nodes(group, x + 6, width - 12, y)
        self.groups[group.id] = Box(x, start, width, y - start + 2)
        return y + 2

    def _nodes(self, group: Group, x: float, width: float, y: float) -> float:
        """Stack a group's nodes; rule nodes flow in two columns to keep the page short."""
        cols = 2 if group.parent is not None else 1
        pending: list[tuple[str, float, float]] = []  # a row being filled: (id, x, width)

        def flush(y: float) -> float:
            if not pending:
                return y
            height = 0.0
            for node_id, _x, nw in pending:
                text = node_text(self.p.node(node_id), nw)
                self.texts[node_id] = text
                height = max(height, text.height())
            for node_id, nx, nw in pending:
                self.nodes[node_id] = Box(nx, y, nw, height)
            pending.clear()
            return y + height + NODE_GAP

        for node_id in group.nodes:
            node = self.p.node(node_id)
            if node.kind in (BoxKind.RULE, BoxKind.STEERING) and cols == 2:
                indent = INDENT if node.kind is BoxKind.STEERING else 0.0
                cell = (width - indent - NODE_GAP) / 2
                pending.append((node_id, x + indent + len(pending) * (cell + NODE_GAP), cell))
                if len(pending) == 2:
                    y = flush(y)
                continue
            y = flush(y)
            pending.append((node_id, x, width))
            y = flush(y)
        return flush(y)

    def box(self, ref: str) -> Box:
        return self.nodes[ref] if ref in self.nodes else self.groups[ref]
