"""docs/screenshot.svg (the README's picture) is what the app exports today: after an
intended change of the screen, ``python -m tests.support.screenshot`` and look at it."""

from __future__ import annotations

from tests.support.screenshot import SCREENSHOT, screenshot_svg
from tests.support.svg_render import misplaced_runs


async def test_readme_screenshot_is_current():
    svg = await screenshot_svg()
    assert svg.startswith("<svg") and "chromium" in svg and "Xwayland" in svg
    assert SCREENSHOT.read_text() == svg, "run: python -m tests.support.screenshot"


def test_readme_screenshot_keeps_its_columns_in_librsvg():
    """Issue 25: without xml:space="preserve", rsvg-convert drew each run's first
    character where its leading spaces began (the columns collapsed)."""
    checked, wrong = misplaced_runs(SCREENSHOT.read_text())
    assert checked >= 5 and wrong == []
