"""Render a saved screenshot (Rich's SVG) with librsvg (``rsvg-convert``, Debian's
librsvg2-bin) and check its columns: a text run that starts with spaces must draw its
first character that many cells to the right, where the terminal showed it."""

from __future__ import annotations

import html
import io
import re
import shutil
import subprocess

from PIL import Image

#: Rich's text runs: x, baseline y, the run's width in pixels, its text
TEXT_RUN = re.compile(
    r'<text class="[^"]*" x="([0-9.]+)" y="([0-9.]+)" textLength="([0-9.]+)"[^>]*>([^<]*)</text>'
)
#: where Rich puts the terminal in its window
MATRIX = re.compile(r'<g transform="translate\(([0-9.]+),\s*([0-9.]+)\)" clip-path=')
NBSP = "\xa0"


def rendered(svg: str) -> Image.Image:
    """The PNG librsvg draws of ``svg`` (at the viewBox's size), as RGB."""
    rsvg = shutil.which("rsvg-convert")
    assert rsvg, "rsvg-convert is missing: apt-get install librsvg2-bin"
    png = subprocess.run([rsvg, "-f", "png"], input=svg.encode(), capture_output=True,
                         check=True, timeout=120).stdout
    return Image.open(io.BytesIO(png)).convert("RGB")


def misplaced_runs(svg: str) -> tuple[int, list[str]]:
    """(how many runs that start with spaces were checked, those whose first character
    librsvg draws elsewhere than after its spaces). A run is checked when at least two
    spaces lead it: the cells of those spaces must be blank (one colour, the run's
    background) and the cell after them must not."""
    m = MATRIX.search(svg)
    assert m, "not a Rich screenshot: no terminal group"
    dx, dy = float(m.group(1)), float(m.group(2))
    image = rendered(svg)
    checked, wrong = 0, []
    for x, y, length, escaped in TEXT_RUN.findall(svg):
        text = html.unescape(escaped)
        lead = len(text) - len(text.lstrip(NBSP + " "))
        if lead < 2 or lead == len(text):
            continue
        cell = float(length) / len(text)
        left = dx + float(x)
        first = left + lead * cell
        top, bottom = int(dy + float(y) - 14), int(dy + float(y) + 2)
        blank = image.crop((int(left) + 2, top, int(first) - 2, bottom)).getcolors(1 << 16)
        ink = image.crop((int(first), top, int(first + cell), bottom)).getcolors(1 << 16)
        checked += 1
        if blank is None or len(blank) != 1 or ink is None or len(ink) < 2:
            wrong.append(f"{text!r} at ({x}, {y})")
    return checked, wrong
