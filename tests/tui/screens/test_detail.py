"""The buffer pane tells a buffer's life from a recording's events (the real 6.18
recording of tests/data/vm-6.18-events/): who made it, who imported it, shown up to
the sample on screen; a buffer (or a file) without events shows no life section."""

from __future__ import annotations

from dmabuf_top.tui.app import DmabufTopApp
from dmabuf_top.tui.screens.detail import BufferScreen
from tests.support.paths import DATA
from tests.support.pilot import SIZE, THEME, file_backend, settle

REC = DATA / "vm-6.18-events" / "recording.yaml"


async def open_buffer(app, pilot, inode: int) -> BufferScreen:
    await settle(pilot)
    app.open_buffer(inode)
    await settle(pilot)
    screen = app.screen
    assert isinstance(screen, BufferScreen) and screen.inode == inode
    return screen


async def test_the_pane_says_who_made_a_buffer_passed_on():
    app = DmabufTopApp(file_backend(REC), theme=THEME)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_buffer(app, pilot, 3)  # "given": made by maker, held by keeper
        life = screen.query_one("#life")
        assert life.display and screen.query_one("#life-label").display
        lines = str(life.render()).splitlines()
        assert len(lines) == 1 and lines[0].endswith("  made by maker (210)"), lines
        snap = app.session.prepared.snap
        assert [snap.processes[p].comm for p in snap.buffers[3].pids] == ["keeper"]


async def test_a_file_without_events_has_no_life_section():
    app = DmabufTopApp(file_backend(), theme=THEME)
    async with app.run_test(size=SIZE) as pilot:
        inode = min(app.session.prepared.snap.buffers)
        screen = await open_buffer(app, pilot, inode)
        assert not screen.query_one("#life").display
