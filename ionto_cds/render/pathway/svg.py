"""Draw a :class:`~ionto_cds.render.pathway.graph.Pathway` as SVG over its column layout.

No system packages (no Graphviz): stages are columns, groups are frames stacked in each
column, edges are Bezier curves between frame or box sides. The output is deterministic (same
pathway, same bytes) and readable in greyscale: every status has its own fill, border pattern
and a text marker.
"""

from __future__ import annotations

import hashlib
import textwrap
from dataclasses import dataclass
from html import escape

from ionto_cds.render.pathway.graph import STAGES, Edge, Group, Node, Pathway, Status
from ionto_cds.render.pathway.layout import (
    FONT,
    MARGIN,
    MARK_LINE,
    MARK_SIZE,
    PAD,
    TEXT_LINE,
    TEXT_SIZE,
    TITLE_LINE,
    TITLE_SIZE,
    Box,
    Layout,
    NodeText,
)


@dataclass(frozen=True)
class Style:
    """How one status is drawn."""

    fill: str
    stroke: str
    width: float
    dash: str | None
    text: str
    double: bool = False
    hatch: bool = False


STYLES = {
    Status.TRUE: Style("#8b1a1a", "#000000", 3.0, None, "#ffffff"),
    Status.FALSE: Style("#ffffff", "#4a4a4a", 1.4, None, "#111111"),
    Status.UNKNOWN: Style("#fff3cd", "#5c4300", 2.4, "8 4", "#111111", hatch=True),
    Status.NOT_REACHED: Style("#ececec", "#7a7a7a", 1.2, "2 3", "#4d4d4d"),
    Status.TAKEN: Style("#dbe9f6", "#1f4e79", 2.2, None, "#0b2540", double=True),
    Status.NEUTRAL: Style("#ffffff", "#1f4e79", 1.4, None, "#111111"),
}
SEVERITY_BAR = {"absolute": "#8b0000", "relative": "#b35900", "precaution": "#806000"}
LEGEND_ORDER = (Status.TRUE, Status.FALSE, Status.UNKNOWN, Status.NOT_REACHED, Status.TAKEN)


def _attr(**values: object) -> str:
    return " ".join(f'{k.rstrip("_").replace("_", "-")}="{escape(str(v))}"'
                    for k, v in values.items() if v is not None)


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _rect(box: Box, style: Style, prefix: str, radius: float = 5) -> list[str]:
    fill = f"url(#{prefix}-hatch)" if style.hatch else style.fill
    out = [f"<rect {_attr(x=_num(box.x), y=_num(box.y), width=_num(box.w), height=_num(box.h))}"
           f" {_attr(rx=radius, fill=fill, stroke=style.stroke, stroke_width=style.width)}"
           + (f' stroke-dasharray="{style.dash}"' if style.dash else "") + "/>"]
    if style.double:
        inner = Box(box.x + 4, box.y + 4, box.w - 8, box.h - 8)
        out.append(f"<rect {_attr(x=_num(inner.x), y=_num(inner.y), width=_num(inner.w))}"
                   f" {_attr(height=_num(inner.h), rx=3, fill='none', stroke=style.stroke)}"
                   ' stroke-width="1"/>')
    return out


def _text(x: float, y: float, text: str, size: float, colour: str, weight: str = "normal",
          italic: bool = False, anchor: str = "start", halo: bool = False) -> str:
    extra = ' font-style="italic"' if italic else ""
    if halo:
        extra += ' paint-order="stroke" stroke="#ffffff" stroke-width="4" stroke-linejoin="round"'
    return (f'<text x="{_num(x)}" y="{_num(y)}" font-size="{size}" fill="{colour}" '
            f'font-weight="{weight}" text-anchor="{anchor}"{extra}>{escape(text)}</text>')


def _draw_node(node: Node, box: Box, text: NodeText, prefix: str) -> list[str]:
    style = STYLES[node.status]
    out = [f'<g class="node node-{node.kind.value} status-{node.status.value}" '
           f'data-id="{escape(node.id)}">', f"<title>{escape(node.title)}</title>"]
    out += _rect(box, style, prefix)
    x = box.x + PAD
    y = box.y + PAD
    # The hatched fill is busy under text: a plain band keeps the words readable.
    if style.hatch:
        band = Box(box.x + 3, box.y + 3, box.w - 6, box.h - 6)
        out.append(f"<rect {_attr(x=_num(band.x), y=_num(band.y), width=_num(band.w))} "
                   f"{_attr(height=_num(band.h), fill=style.fill, fill_opacity='0.82')}/>")
    for line in text.marker:
        y += MARK_LINE
        out.append(_text(x, y - 3.5, line, MARK_SIZE, style.text, "bold"))
    for line in text.note:
        y += MARK_LINE
        out.append(_text(x, y - 3.5, line, MARK_SIZE, style.text, italic=True))
    for line in text.title:
        y += TITLE_LINE
        out.append(_text(x, y - 4, line, TITLE_SIZE, style.text, "bold"))
    for line in text.lines:
        y += TEXT_LINE
        out.append(_text(x, y - 3.5, line, TEXT_SIZE, style.text))
    out.append("</g>")
    return out


def _draw_group(group: Group, box: Box) -> list[str]:
    out = [f'<g class="group" data-id="{escape(group.id)}">']
    if group.parent is None:
        out.append(f"<rect {_attr(x=_num(box.x), y=_num(box.y), width=_num(box.w))} "
                   f"{_attr(height=_num(box.h), rx=8, fill='#f7f9fc', stroke='#9fb3c8')}/>")
        out.append(_text(box.x + 10, box.y + 17, group.title, 14, "#1f4e79", "bold"))
    elif group.stage == "protocols":
        out.append(f"<rect {_attr(x=_num(box.x), y=_num(box.y), width=_num(box.w))} "
                   f"{_attr(height=_num(box.h), rx=6, fill='#ffffff', stroke='#c3cfdb')}/>")
    else:
        bar = SEVERITY_BAR.get(group.severity.value if group.severity else "", "#1f4e79")
        out.append(f"<rect {_attr(x=_num(box.x), y=_num(box.y), width=_num(box.w))} "
                   f"{_attr(height=_num(box.h), rx=6, fill='#ffffff', stroke='#c3cfdb')}/>")
        out.append(f"<rect {_attr(x=_num(box.x), y=_num(box.y), width=6, height=_num(box.h))}"
                   f" {_attr(fill=bar)}/>")
        out.append(_text(box.x + 14, box.y + 16, group.title, 13, "#1a1a1a", "bold"))
    out.append("</g>")
    return out


def _edge_points(edge: Edge, layout: Layout, offset: float
                 ) -> tuple[float, float, float, float, float, float, float, float]:
    s, t = layout.box(edge.source), layout.box(edge.target)
    if edge.back:  # ``offset`` is the edge's rank among the back edges: spread them out
        x1, y1 = s.x, s.y + 30 + 60 * offset
        x2, y2 = t.x + t.w, t.mid_y
        return x1, y1, x1 - 50, y1, x2 + 50, y2, x2, y2
    if abs(s.x - t.x) < 1 and not edge.back:  # same column: down the left side
        x1, y1 = s.x + 14, s.y + s.h
        x2, y2 = t.x + 14, t.y
        return x1, y1, x1, y1 + 4, x2, y2 - 4, x2, y2
    x1, y1 = s.x + s.w, s.mid_y + offset
    x2, y2 = t.x, min(t.mid_y, t.y + 60)  # a tall frame is entered near its top
    bend = (x2 - x1) * 0.5
    return x1, y1, x1 + bend, y1, x2 - bend, y2, x2, y2


def _draw_edges(p: Pathway, layout: Layout, prefix: str) -> list[str]:
    out: list[str] = []
    outgoing: dict[str, list[Edge]] = {}
    for edge in p.edges:
        if not edge.back:
            outgoing.setdefault(edge.source, []).append(edge)
    labelled: set[tuple[str, str]] = set()
    back = [e for e in p.edges if e.back]
    # not-taken edges first so the path is drawn on top; taken labels win over repeats
    ordered = sorted(p.edges, key=lambda e: e.taken is True)
    taken_kinds = {(e.label, e.target) for e in p.edges if e.taken is True}
    labels: list[str] = []
    for edge in ordered:
        siblings = outgoing.get(edge.source, [edge])
        index = siblings.index(edge) if edge in siblings else 0
        offset = (index - (len(siblings) - 1) / 2) * 12 if len(siblings) > 1 else 0.0
        if edge.back:
            offset = float(back.index(edge))
        x1, y1, c1x, c1y, c2x, c2y, x2, y2 = _edge_points(edge, layout, offset)
        on_path = edge.taken is True
        colour = "#0b2540" if on_path else ("#8a8a8a" if edge.taken is False else "#4f6d8a")
        width = 3.5 if on_path else (1.2 if edge.taken is False else 1.6)
        dash = ' stroke-dasharray="6 4"' if edge.taken is False else ""
        marker = f"{prefix}-arrow-on" if on_path else f"{prefix}-arrow"
        out.append(f'<path class="edge{" taken" if on_path else ""}" '
                   f'd="M{_num(x1)},{_num(y1)} C{_num(c1x)},{_num(c1y)} {_num(c2x)},{_num(c2y)} '
                   f'{_num(x2)},{_num(y2)}" fill="none" stroke="{colour}" '
                   f'stroke-width="{width}"{dash} marker-end="url(#{marker})"/>')
        if not edge.label or (p.highlighted and not on_path and edge.target.startswith("dose")):
            continue
        kind = (edge.label, edge.target)
        if kind in labelled or (not on_path and kind in taken_kinds):
            continue  # one label per kind of arrow, on the taken one when there is one
        labelled.add(kind)
        mx = (x1 + 3 * c1x + 3 * c2x + x2) / 8  # the curve's midpoint (t = 1/2)
        my = (y1 + 3 * c1y + 3 * c2y + y2) / 8
        if edge.back:  # beside the decision it revises, clear of the forward arrows
            for i, line in enumerate(textwrap.wrap(edge.label, 16)):
                labels.append(_text(x2 + 8, y2 + 14 + i * 12, line, 10.5, colour,
                                    "bold" if on_path else "normal", italic=not on_path,
                                    halo=True))
            continue
        if abs(x1 - x2) < 1:
            mx, my = x1 + 8, (y1 + y2) / 2 + 4
            labels.append(_text(mx, my, edge.label, 10.5, colour, italic=True, halo=True))
            continue
        for i, line in enumerate(textwrap.wrap(edge.label, 18)):
            labels.append(_text(mx, my - 4 + i * 12, line, 10.5, colour,
                                "bold" if on_path else "normal", italic=not on_path,
                                anchor="middle", halo=True))
    return out + labels


def _legend(x: float, y: float, prefix: str, highlighted: bool) -> tuple[list[str], float]:
    out = [_text(x, y + 12, "Legend" + ("" if highlighted else
                                         " (load a patient or case to see its path)"),
                 13, "#1a1a1a", "bold")]
    y += 20
    cx = x
    for status in LEGEND_ORDER:
        box = Box(cx, y, 118, 30)
        style = STYLES[status]
        out += _rect(box, style, prefix)
        if style.hatch:
            out.append(f"<rect {_attr(x=_num(cx + 3), y=_num(y + 3), width=112, height=24)} "
                       f"{_attr(fill=style.fill, fill_opacity='0.82')}/>")
        out.append(_text(cx + 8, y + 19.5, status.marker, MARK_SIZE, style.text, "bold"))
        for i, line in enumerate(textwrap.wrap(status.meaning, 20)):
            out.append(_text(cx + 124, y + 12 + i * 13, line, 11, "#1a1a1a"))
        cx += 262
    out.append(f'<path d="M{_num(cx)},{_num(y + 8)} h46" stroke="#0b2540" stroke-width="3.5" '
               f'marker-end="url(#{prefix}-arrow-on)"/>')
    out.append(_text(cx + 54, y + 12, "path taken", 11, "#1a1a1a"))
    out.append(f'<path d="M{_num(cx)},{_num(y + 24)} h46" stroke="#8a8a8a" stroke-width="1.2" '
               f'stroke-dasharray="6 4" marker-end="url(#{prefix}-arrow)"/>')
    out.append(_text(cx + 54, y + 28, "not taken", 11, "#1a1a1a"))
    return ['<g class="legend">', *out, "</g>"], y + 42


def _defs(prefix: str) -> str:
    return (
        "<defs>"
        f'<pattern id="{prefix}-hatch" patternUnits="userSpaceOnUse" width="8" height="8" '
        'patternTransform="rotate(45)">'
        '<rect width="8" height="8" fill="#fff3cd"/>'
        '<line x1="0" y1="0" x2="0" y2="8" stroke="#5c4300" stroke-width="2.2"/></pattern>'
        f'<marker id="{prefix}-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#6f6f6f"/></marker>'
        f'<marker id="{prefix}-arrow-on" viewBox="0 0 10 10" refX="9" refY="5" '
        'markerWidth="5" markerHeight="5" orient="auto-start-reverse">'
        '<path d="M0,0 L10,5 L0,10 z" fill="#0b2540"/></marker>'
        "</defs>")


def _focus(box: Box) -> list[str]:
    ring = Box(box.x - 5, box.y - 5, box.w + 10, box.h + 10)
    return [f'<g class="focus"><rect {_attr(x=_num(ring.x), y=_num(ring.y), width=_num(ring.w))}'
            f' {_attr(height=_num(ring.h), rx=8, fill="none", stroke="#e06c00")}'
            ' stroke-width="4" stroke-dasharray="10 4"/>',
            f'<path d="M{_num(ring.x - 16)},{_num(ring.y + 6)} l12,8 l-12,8 z" fill="#e06c00"/>',
            _text(ring.x + ring.w - 4, ring.y - 3, "\u25b6 THIS STEP", 11, "#7a3b00", "bold",
                  anchor="end", halo=True), "</g>"]


WINDOW = (1400.0, 900.0)
"""Width and height of the part of the pathway shown around a focused step."""


def render_svg(pathway: Pathway, focus: str | None = None, id_prefix: str | None = None,
               around_focus: bool = False) -> str:
    """The pathway as a standalone SVG document (XML declaration omitted, so it can be
    inlined in HTML as well as written to a file).

    ``focus`` marks one node (the current step of a walk-through); with ``around_focus`` the
    document shows only a window of the pathway centred on it, so the step is always in view.
    ``id_prefix`` keeps the ids of patterns and markers unique when several diagrams share
    one page.
    """
    prefix = id_prefix or "pw" + hashlib.sha1(
        repr([(n.id, n.status.value) for n in pathway.nodes]).encode()).hexdigest()[:8]
    layout = Layout(pathway)
    title_y = MARGIN + 18
    legend, legend_bottom = _legend(MARGIN, title_y + 12, prefix, pathway.highlighted)
    stage_y = legend_bottom + 16
    layout.run(stage_y + 16)
    width, height = layout.width, layout.height
    body: list[str] = [
        _text(MARGIN, title_y, pathway.title, 20, "#1f4e79", "bold"),
        _text(width - MARGIN, title_y, f"rules {pathway.ruleset_version}", 12, "#4d4d4d",
              anchor="end"),
        *legend,
    ]
    for stage, title in STAGES:
        body.append(_text(layout.columns[stage], stage_y, title, 15, "#1f4e79", "bold"))
    for group in pathway.groups:
        if group.id in layout.groups and group.parent is None:
            body += _draw_group(group, layout.groups[group.id])
    for group in pathway.groups:
        if group.id in layout.groups and group.parent is not None:
            body += _draw_group(group, layout.groups[group.id])
    edges = _draw_edges(pathway, layout, prefix)
    for node in pathway.nodes:
        body += _draw_node(node, layout.nodes[node.id], layout.texts[node.id], prefix)
    body += edges
    if focus is not None and focus in layout.nodes:
        body += _focus(layout.nodes[focus])
    x0, y0, shown_w, shown_h = 0.0, 0.0, float(width), float(height)
    if around_focus and focus is not None and focus in layout.nodes:
        box = layout.nodes[focus]
        shown_w, shown_h = min(width, WINDOW[0]), min(height, WINDOW[1])
        x0 = min(max(box.x + box.w / 2 - shown_w / 2, 0.0), width - shown_w)
        y0 = min(max(box.y + box.h / 2 - shown_h / 2, 0.0), height - shown_h)
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{_num(shown_w)}" '
            f'height="{_num(shown_h)}" '
            f'viewBox="{_num(x0)} {_num(y0)} {_num(shown_w)} {_num(shown_h)}" '
            f'font-family="{FONT}" role="img" aria-label="{escape(pathway.title)}">')
    background = f'<rect width="{_num(width)}" height="{_num(height)}" fill="#ffffff"/>'
    return "\n".join([head, _defs(prefix), background, *body, "</svg>"]) + "\n"
