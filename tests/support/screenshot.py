"""The README's picture: the app's own screenshot (``App.export_screenshot``) of what
``dmabuf-top --demo`` shows (dmabuf_top/data/demo.yaml, recorded in the real-kernel VM by
tests/support/vm/record_demo.py), at its last sample (where a recording opens), 120x40,
the default theme. ``python -m tests.support.screenshot`` writes docs/screenshot.svg
(atomically); tests/tui/test_screenshot.py checks it is current."""

from __future__ import annotations

import asyncio

from dmabuf_top.cli.options import DEMO_RECORDING
from dmabuf_top.io.atomic import write_atomic
from dmabuf_top.io.export import screenshot_text
from dmabuf_top.tui.app import DmabufTopApp
from dmabuf_top.tui.themes import DEFAULT_THEME
from tests.support.paths import REPO
from tests.support.pilot import file_backend, settle

SCREENSHOT = REPO / "docs" / "screenshot.svg"
SIZE = (120, 40)


async def screenshot_svg() -> str:
    """The SVG the app exports of the Processes view of the demo's last sample, as the
    app saves one (io/export.py's screenshot_text)."""
    app = DmabufTopApp(file_backend(DEMO_RECORDING), theme=DEFAULT_THEME)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        return screenshot_text(app.export_screenshot(title="dmabuf-top"))


def main() -> None:
    write_atomic(SCREENSHOT, asyncio.run(screenshot_svg()))
    print(f"wrote {SCREENSHOT}")


if __name__ == "__main__":
    main()
