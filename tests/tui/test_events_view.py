"""The events view (key 6) on the real 6.18 recording with events
(tests/data/vm-6.18-events/recording.yaml): newest first, the filter narrows it (text and
``re:``), Enter opens the event's buffer or, gone, its life; the events up to the sample
shown; bounded by the settings file; untrusted text shown literally; only offered when
the session has events. (Live, in the VM: tests/integration/test_vm_events.py.)"""

from __future__ import annotations

import pytest

from dmabuf_top.io.loader import load_files
from dmabuf_top.io.record_writer import RecordingWriter
from dmabuf_top.model import DmabufEvent
from dmabuf_top.textsafe import printable
from dmabuf_top.timefmt import parse_time
from dmabuf_top.tui.app import DmabufTopApp
from dmabuf_top.tui.screens.detail import BufferScreen
from dmabuf_top.tui.screens.events import EventsScreen, GoneBufferScreen
from dmabuf_top.tui.screens.main import MainScreen
from dmabuf_top.tui.widgets.key_footer import shown_keys
from tests.support.paths import DATA
from tests.support.pilot import MARKUP_NAME, SIZE, THEME, file_backend, settle
from tests.support.synth import leak_series
from tests.support.table_readers import cell_of, row_count, shown_columns

REC = DATA / "vm-6.18-events" / "recording.yaml"
SIZES = {"80x24": (80, 24), "120x40": (120, 40)}


def recorded_events() -> list[DmabufEvent]:
    return load_files([REC]).events


async def open_events(app, pilot) -> EventsScreen:
    await settle(pilot)
    await pilot.press("6")
    await settle(pilot)
    screen = app.screen
    assert isinstance(screen, EventsScreen)
    return screen


def shown(screen: EventsScreen, column: str) -> list[str]:
    table = screen.query_one("#events")
    return [cell_of(table, k, column) for k in table.keys()]


async def type_filter(pilot, text: str) -> None:
    await pilot.press("slash", *text, "enter")
    await settle(pilot)


@pytest.mark.parametrize("size", SIZES)
async def test_newest_first_filtered_and_enter_opens_the_buffer(size):
    events = recorded_events()
    app = DmabufTopApp(file_backend(REC), theme=THEME)
    async with app.run_test(size=SIZES[size]) as pilot:
        screen = await open_events(app, pilot)
        table = screen.query_one("#events")
        # the last sample is shown: every event, newest first
        assert row_count(table) == len(events) == 18
        assert shown(screen, "inode") == [str(e.inode) for e in reversed(events)]
        assert {"time", "event", "pid", "comm", "inode", "size", "fd"} <= set(
            shown_columns(table))
        title = str(screen.query_one("#detail-title").render())
        assert "the last 18" in title and "0 lost" in title and "sample 16/16" in title
        await type_filter(pilot, "maker")
        assert shown(screen, "comm") == ["maker"] * 3
        assert shown(screen, "event") == ["export"] * 3
        await pilot.press("escape")  # clears the filter, stays
        await settle(pilot)
        assert app.screen is screen and row_count(table) == 18
        await type_filter(pilot, "re:^(attach|detach)$")
        assert shown(screen, "event") == ["detach", "attach", "detach", "attach"]
        assert set(shown(screen, "fd")) == {"dev=vgem"}
        await pilot.press("escape")
        await type_filter(pilot, "re:^3$")  # the inode of "given": still held (by keeper)
        assert shown(screen, "inode") == ["3"]
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, BufferScreen) and app.screen.inode == 3


async def test_enter_on_a_released_buffer_tells_its_life():
    app = DmabufTopApp(file_backend(REC), theme=THEME)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_events(app, pilot)
        await type_filter(pilot, "re:^release$")
        assert shown(screen, "inode") == ["6", "5", "4"]
        await pilot.press("enter")
        await settle(pilot)
        gone = app.screen
        assert isinstance(gone, GoneBufferScreen) and gone.inode == 6
        assert "GONE" in str(gone.query_one("#detail-title").render())
        life = str(gone.query_one("#life").render()).splitlines()
        assert [ln.strip().split("  ", 1)[1] for ln in life] == [
            "made by python (249)", "imported by python (250)", "released by python (250)"]
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen


async def test_an_earlier_sample_shows_the_events_up_to_it():
    events = recorded_events()
    app = DmabufTopApp(file_backend(REC), theme=THEME)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_events(app, pilot)
        counts = []
        for _ in range(15):
            await pilot.press("left_square_bracket")
            await settle(pilot)
            until = parse_time(app.session.prepared.snap.taken_at)
            want = [str(e.inode) for e in reversed(events) if e.time <= until]
            assert shown(screen, "inode") == want
            counts.append(len(want))
        assert app.session.sample_index == 0 and counts[-1] == 0 < max(counts) < 18
        assert "No dma-buf events yet" in str(screen.query_one("#events-empty").render())


def hostile_recording(path) -> None:
    snaps = leak_series(2)
    t = parse_time(snaps[1].taken_at) - 0.5
    evil = [DmabufEvent(t + i / 100, kind, 4242, MARKUP_NAME, 77, "[b]exp\x1b[2J", 4096,
                        fd=3 if kind == "fd" else None,
                        device="dev[/]\x07" if kind == "attach" else None)
            for i, kind in enumerate(("export", "fd", "attach", "export", "export"))]
    with RecordingWriter(path, interval=2.0) as w:
        w.add(snaps[0], [], 0)
        w.add(snaps[1], evil, 7)


async def test_untrusted_text_is_literal_the_lost_count_shown_and_the_bound_kept(tmp_path):
    rec = tmp_path / "evil.yaml"
    hostile_recording(rec)
    settings = tmp_path / "config.yaml"
    settings.write_text("events: 10\n")
    app = DmabufTopApp(file_backend(rec), theme=THEME, settings_file=settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_events(app, pilot)
        assert shown(screen, "comm") == [printable(MARKUP_NAME)] * 5
        assert shown(screen, "exporter")[0] == printable("[b]exp\x1b[2J")
        assert "dev=" + printable("dev[/]\x07") in shown(screen, "fd")
        title = str(screen.query_one("#detail-title").render())
        assert "7 lost" in title and "at most 10" in title
    settings.write_text("events: 10\n")
    app = DmabufTopApp(file_backend(REC), theme=THEME, settings_file=settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_events(app, pilot)
        newest = [str(e.inode) for e in reversed(recorded_events())][:10]
        assert shown(screen, "inode") == newest


async def test_offered_only_when_the_session_has_events():
    app = DmabufTopApp(file_backend(), theme=THEME)  # a snapshot: no events
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "6" not in [k[0] for k in shown_keys(app.screen)]
        await pilot.press("6")
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)
    app = DmabufTopApp(file_backend(REC), theme=THEME)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "6" in [k[0] for k in shown_keys(app.screen)]


async def test_sort_keys_and_title_clicks_sort_the_events():
    events = recorded_events()
    app = DmabufTopApp(file_backend(REC), theme=THEME)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_events(app, pilot)
        await pilot.press("s")  # SIZE, largest first
        await settle(pilot)
        sizes = [e.size for e in events]
        assert shown(screen, "size")[0] == "1.0M" and len(shown(screen, "size")) == len(sizes)
        await pilot.press("T")  # TIME: newest first again
        await settle(pilot)
        assert shown(screen, "inode") == [str(e.inode) for e in reversed(events)]
        await pilot.press("I")  # inverted: oldest first
        await settle(pilot)
        assert shown(screen, "inode") == [str(e.inode) for e in events]
