"""PDF of our printable pages (plan, leaflet) through fpdf2, from the same HTML as the page."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

_FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf", "I": "DejaVuSans-Oblique.ttf",
               "BI": "DejaVuSans-BoldOblique.ttf"}
_MONO = "DejaVuSansMono.ttf"


@cache
def _font_dir() -> Path:
    """DejaVu (every character we print: mA·min, cm², −, ≤, →) as shipped with matplotlib."""
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def _body(page: str) -> str:
    """The <body> of one of our pages, minus what fpdf2 does not lay out (style, title)."""
    found = re.search(r"<body>(.*)</body>", page, re.S)
    body = found.group(1) if found else page
    return body.replace("<table>", "<table border='1' width='100%'>")


def html_to_pdf(page: str, title: str) -> bytes:
    """An A4 PDF of a page made by :func:`~ionto_cds.render.report.markdown_to_html`."""
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    pdf = FPDF(format="A4")
    pdf.set_title(title)
    pdf.set_creator("ionto-cds")
    pdf.set_margins(14, 16, 14)
    pdf.set_auto_page_break(True, margin=16)
    fonts = _font_dir()
    for style, name in _FONT_FILES.items():
        pdf.add_font("DejaVu", style, str(fonts / name))
    pdf.add_font("DejaVuMono", "", str(fonts / _MONO))
    pdf.add_page()
    pdf.set_font("DejaVu", size=10)
    heading = "#1f4e79"
    pdf.write_html(_body(page), font_family="DejaVu", tag_styles={
        "h1": FontFace(color=heading, size_pt=16, emphasis="BOLD"),
        "h2": FontFace(color=heading, size_pt=13, emphasis="BOLD"),
        "h3": FontFace(color=heading, size_pt=11, emphasis="BOLD"),
        "code": FontFace(family="DejaVuMono"),
    })
    return bytes(pdf.output())
