"""Pilot tests: every key of the TUI does what the help says."""

from __future__ import annotations

import pytest
from textual.widgets import Input

from dmabuf_top.io.loader import load_snapshots
from dmabuf_top.report.live_columns import COLUMNS, VIEW_NAMES
from dmabuf_top.tui.app import DmabufTopApp
from dmabuf_top.tui.keys import GLOBAL_KEYS, MAIN_KEYS, RESERVED, sort_key_of, sort_letters
from dmabuf_top.tui.refresher import INTERVALS
from dmabuf_top.tui.screens.detail import BufferScreen, ProcessScreen
from dmabuf_top.tui.screens.help import HelpScreen
from dmabuf_top.tui.screens.main import MainScreen
from dmabuf_top.tui.widgets.graph import TimeGraph
from tests.support.pilot import (
    SIZE,
    VM_RECORDING,
    VM_SNAPSHOT,
    ScriptedBackend,
    file_backend,
    palette_offers,
    settle,
    small_snapshot,
    wait_until,
)
from tests.support.svg_render import misplaced_runs
from tests.support.table_readers import cell_of, column_x, cursor_row


def make_app(backend=None, **kw) -> DmabufTopApp:
    kw.setdefault("delay", 3600)  # tests refresh with ctrl+r, never by the clock
    return DmabufTopApp(backend or ScriptedBackend([small_snapshot()]), **kw)


def main_screen(app: DmabufTopApp) -> MainScreen:
    screen = app.screen
    assert isinstance(screen, MainScreen), type(screen)
    return screen


def shown(app: DmabufTopApp) -> list[str]:
    return main_screen(app).table().keys()


@pytest.mark.parametrize("key", ["q", "f10"])
async def test_htop_style_quit_keys(key):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press(key)
        await pilot.pause()
    assert app.return_code == 0


@pytest.mark.parametrize("key", ["slash", "backslash", "f3", "f4"])  # htop: / F3, \\ F4
async def test_htop_style_filter_keys(key):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press(key, "c", "a", "m", "enter")
        await settle(pilot)
        assert shown(app) == ["14"]  # camera's buffer only


async def test_ctrl_c_quits_even_from_the_filter_input():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash", "a")
        assert isinstance(app.focused, Input)
        await pilot.press("ctrl+c")
        await pilot.pause()
    assert app.return_code == 0


async def test_help_opens_and_closes():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for key, close in [("question_mark", "escape"), ("f1", "q"), ("question_mark", "f1"),
                           ("f1", "question_mark")]:
            await pilot.press(key)
            assert isinstance(app.screen, HelpScreen)
            text = "\n".join(str(w.render()) for w in app.screen.query("Static"))
            for k in GLOBAL_KEYS + MAIN_KEYS:  # every key is listed
                assert k.help in text
            await pilot.press(close)
            assert isinstance(app.screen, MainScreen)
        assert app.is_running  # q in the help closes the help, not the app


async def test_space_and_p_freeze_the_screen_while_scanning_goes_on():
    snaps = [small_snapshot(f"2026-11-21T10:{i // 60:02d}:{i % 60:02d}Z") for i in range(400)]
    backend = ScriptedBackend(snaps)
    app = make_app(backend, delay=0.05)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for key in ("space", "p"):
            await pilot.press(key)
            await settle(pilot)
            assert app.refresher.paused
            header = str(app.screen.query_one("#header-status").render())
            assert "PAUSED" in header
            shown, calls = app.session.prepared.snap.taken_at, backend.calls
            samples = len(app.session.samples.snapshots())
            await wait_until(
                pilot, lambda c=calls, n=samples: backend.calls > c
                and len(app.session.samples.snapshots()) > n, "a scan while paused")
            await settle(pilot)
            assert backend.calls > calls  # the timer ticked: scanned, as htop goes on
            assert len(app.session.samples.snapshots()) > samples  # suspects' history too
            assert app.session.prepared.snap.taken_at == shown  # the screen stayed
            assert str(app.screen.query_one("#header-status").render()) == header
            held = app.refresher.latest
            assert held is not None and held.snap.taken_at > shown
            await pilot.press(key)
            await settle(pilot)
            assert not app.refresher.paused
            assert app.session.prepared.snap.taken_at >= held.snap.taken_at  # the newest


async def test_plus_minus_step_the_interval():
    app = make_app(delay=2.0)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("plus")
        assert app.delay == 3.0
        await pilot.press("plus")
        assert app.delay == 5.0
        await pilot.press("minus", "minus", "minus")
        assert app.delay == 1.0
        app.delay = INTERVALS[1]
        await pilot.press("minus", "minus")  # stops at the shortest
        assert app.delay == INTERVALS[0]
        await pilot.pause()
        assert f"every {INTERVALS[0]:g}s" in str(app.screen.query_one("#header-status").render())
        assert app.timer_interval == INTERVALS[0]


@pytest.mark.parametrize("key", ["ctrl+l", "ctrl+r"])  # htop: ctrl+l
async def test_refresh_now(key):
    backend = ScriptedBackend([small_snapshot()])
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert backend.calls == 1
        await pilot.press(key)
        await settle(pilot)
        assert backend.calls == 2


async def test_number_sign_hides_and_shows_graphs():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        graph = app.screen.query_one("#header-graph", TimeGraph)
        assert not graph.display  # one sample is no trend: no graph at all
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert graph.display
        await pilot.press("number_sign")
        await pilot.pause()
        assert not graph.display
        await pilot.press("enter")  # the drill-down pane's graphs too
        await settle(pilot)
        assert not app.screen.query_one("#buffer-graphs").display
        await pilot.press("escape", "number_sign")
        await pilot.pause()
        assert graph.display


async def test_ctrl_t_cycles_the_file_themes():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        cycle = app.theme_cycle
        assert cycle[0] == "dmabuf-dark" and len(cycle) >= 3
        assert app.theme == "dmabuf-dark"
        await pilot.press("ctrl+t")
        assert app.theme == cycle[1]
        app.theme = cycle[-1]
        await pilot.press("ctrl+t")  # wraps around
        assert app.theme == cycle[0]


async def test_x_exports_the_snapshot_shown(tmp_path):
    app = make_app(export_dir=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("x")
        await pilot.pause()
        files = list(tmp_path.glob("dmabuf-top-*.yaml"))
        assert [f.name for f in files] == ["dmabuf-top-20261121T100000Z.yaml"]
        back = load_snapshots(files[0])[0]
        assert sorted(back.buffers) == [12, 13, 14, 15]
        assert back.buffers[13].name == small_snapshot().buffers[13].name
        assert any(str(files[0]) in n.message for n in app.notices)
        await pilot.press("x")  # a second export never overwrites the first
        await pilot.pause()
        assert len(list(tmp_path.glob("dmabuf-top-*.yaml"))) == 2


async def test_export_to_an_unwritable_place_is_reported(tmp_path):
    app = make_app(export_dir=tmp_path / "[/missing]")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("x")
        await pilot.pause()
        assert any(n.severity == "error" for n in app.notices)
        assert app.is_running


async def test_command_palette_exports_to_a_chosen_directory(tmp_path):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"snapshot to")
        await wait_until(pilot, lambda: palette_offers(app, "snapshot to"),
                         "the palette to offer 'Export snapshot to…'")
        await pilot.press("enter")
        await pilot.pause()
        inp = app.screen.query_one("#export-dir", Input)
        inp.value = str(tmp_path)
        await pilot.press("enter")
        await pilot.pause()
        assert len(list(tmp_path.glob("dmabuf-top-*.yaml"))) == 1


async def test_views_by_number_keys():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = main_screen(app)
        await pilot.press("2")
        await pilot.pause()
        assert screen.view == "processes"
        assert shown(app) == ["412", "301", "500"]  # by Rss, largest first
        await pilot.press("3")
        await pilot.pause()
        assert screen.view == "exporters"
        assert shown(app) == ["drm", "system"]
        await pilot.press("1")
        await pilot.pause()
        assert screen.view == "buffers"
        assert app.focused is screen.table()


async def test_clicking_a_tab_switches_view():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.click("#views Tab#tab-exporters")
        await pilot.pause()
        assert main_screen(app).view == "exporters"


def test_every_sort_letter_has_a_key():
    letters = sort_letters()
    assert set("iesrcnhabfmpd") <= set(letters)
    # htop's keys: help, setup, pause, invert, tree, kill, quit; and export, views
    assert RESERVED == {"q", "h", "S", "p", "Z", "x", "I", "t", "k", "0", "1", "2", "3", "4", "5",
                        "6"}
    assert sort_key_of("h") == "H" and sort_key_of("s") == "s" and sort_key_of("k") == "K"


@pytest.mark.parametrize("view", VIEW_NAMES)
async def test_sort_keys(view):
    """Each column's letter sorts by it, or its capital when a key of the app has the
    letter; the other case works too unless taken; a second press reverses."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = main_screen(app)
        await pilot.press(str(VIEW_NAMES.index(view) + 1))
        await pilot.pause()
        for col in (c for c in COLUMNS[view] if c.letter):
            key = sort_key_of(col.letter)
            assert key, col.key
            before = screen.sort[view]
            await pilot.press(key)
            await pilot.pause()
            if before[0] == col.key:  # already sorted by it: the press reverses
                assert screen.sort[view] == (col.key, not before[1])
            else:
                assert screen.sort[view] == (col.key, False), col.key
            state = screen.sort[view]
            other_case = ({col.letter, col.letter.upper()} - {key} - RESERVED)
            for k in other_case:
                await pilot.press(k)
                await pilot.pause()
                assert screen.sort[view] == (col.key, not state[1])
            table = screen.table()
            assert table.state.title(col.key)[-1] in "▼▲"
            others = [c.key for c in COLUMNS[view] if c.key != col.key]
            for other in others:
                assert table.state.title(other)[-1] not in "▼▲", other


async def test_sort_orders_rows_and_reverses():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert shown(app) == ["13", "12", "14", "15"]  # size, largest first
        await pilot.press("s")
        await pilot.pause()
        assert shown(app) == ["15", "14", "12", "13"]
        await pilot.press("i")
        await pilot.pause()
        assert shown(app) == ["12", "13", "14", "15"]
        await pilot.press("i")
        await pilot.pause()
        assert shown(app) == ["15", "14", "13", "12"]


async def test_p_pauses_in_the_processes_view_and_P_sorts_by_pss():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = main_screen(app)
        await pilot.press("2", "p")
        await pilot.pause()
        assert app.refresher.paused and screen.sort["processes"][0] == "rss"
        await pilot.press("P")
        await pilot.pause()
        assert screen.sort["processes"] == ("pss", False)


async def test_clicking_a_header_sorts_and_again_reverses():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = main_screen(app).table()
        x = column_x(table, "exporter") + 2
        await pilot.click(table, offset=(x, 0))  # the EXPORTER header
        await pilot.pause()
        assert main_screen(app).sort["buffers"] == ("exporter", False)
        assert shown(app) == ["12", "13", "15", "14"]  # drm..., system
        await pilot.click(table, offset=(x, 0))
        await pilot.pause()
        assert main_screen(app).sort["buffers"] == ("exporter", True)


async def test_g_and_G_and_home_end_move_to_first_and_last_row():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = main_screen(app).table()
        await pilot.press("G")
        assert cursor_row(table) == 3
        await pilot.press("g")
        assert cursor_row(table) == 0
        await pilot.press("end")
        assert cursor_row(table) == 3
        await pilot.press("home")
        assert cursor_row(table) == 0
        await pilot.press("down")
        assert table.cursor_key == "12"
        await pilot.press("pagedown")
        assert cursor_row(table) == 3
        await pilot.press("pageup", "up")
        assert cursor_row(table) == 0


async def test_filter_substring_regex_and_escape():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        await pilot.pause()
        assert isinstance(app.focused, Input)
        await pilot.press(*"scan")
        await pilot.pause()
        assert shown(app) == ["12"]
        await pilot.press("enter")  # keep the filter, back to the table
        await pilot.pause()
        assert app.focused is main_screen(app).table()
        assert shown(app) == ["12"]
        await pilot.press("escape")
        await pilot.pause()
        assert shown(app) == ["13", "12", "14", "15"]
        assert not app.screen.query_one("#filter-bar").display
        # a regex, matched in each field (here: holders "[red]hog(412)")
        await pilot.press("slash", *r"re:d\]h", "enter")
        await pilot.pause()
        assert shown(app) == ["13", "12"]
        await pilot.press("escape")
        await pilot.pause()


async def test_a_bad_regex_keeps_the_last_good_filter():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"re:scan")
        await pilot.pause()
        assert shown(app) == ["12"]
        await pilot.press("(")
        await pilot.pause()
        inp = app.screen.query_one("#filter", Input)
        assert inp.has_class("-invalid")
        assert shown(app) == ["12"]
        await pilot.press("escape")
        await pilot.pause()
        assert len(shown(app)) == 4


async def test_filter_matching_nothing_says_so():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"[/z]", "enter")  # markup is just text
        await pilot.pause()
        assert shown(app) == []
        empty = app.screen.query_one("#empty")
        assert empty.display and "filter '[/z]'.  Esc clears" in str(empty.render())


async def test_enter_opens_the_buffer_pane_and_escape_goes_back():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("down", "enter")  # inode 12: two holders
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, BufferScreen) and screen.inode == 12
        fields = str(screen.query_one("#buffer-fields").render())
        for want in ("12", "drm", "scanout 0", "8.0M (8388608 bytes)", "refcount", "4",
                     "first seen", "2026-11-21T10:00:00Z", "last changed"):
            assert want in fields
        holders = screen.query_one("#holders")
        assert holders.keys() == ["301:0", "412:0"]
        row = [str(c) for c in holders.state.rows.cells["301:0"]]
        assert row[:6] == ["301", "compositor", "5, 9", "7f0000000000-7f0000800000", "rw-s",
                           "8.0M"]
        assert row[6] == "/usr/bin/compositor --vt 1"
        hog = [str(c) for c in holders.state.rows.cells["412:0"]]
        assert hog[1] == "[red]hog" and "\x1b" not in hog[6] and "\\e" in hog[6]
        assert "0000:03:00.0" in str(screen.query_one("#attachments").render())
        assert "write fence:vgem 1 seq 3 signalled" in str(screen.query_one("#fences").render())
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
        assert main_screen(app).table().cursor_key == "12"


async def test_the_buffer_pane_at_80x24_opens_at_its_top_and_follows_the_cursor():
    """A low terminal: the pane opens on the buffer's facts and graphs (not scrolled to
    the focused holders table), and the pane scrolls to keep the holder chosen on screen."""
    app = make_app(file_backend(VM_RECORDING))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("enter")  # the largest buffer, scanout 0: five holders
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, BufferScreen)
        body, holders = screen.query_one("#detail-body"), screen.query_one("#holders")
        assert len(holders.keys()) == 5 and body.scroll_offset.y == 0

        def cursor_on_screen() -> bool:
            line = holders.virtual_region.y + 1 + cursor_row(holders)
            top = body.scroll_offset.y
            return top <= line < top + body.scrollable_content_region.height

        scrolled = []
        for key in ["down"] * 4 + ["up"] * 4:
            await pilot.press(key)
            await pilot.pause()
            assert cursor_on_screen(), (key, cursor_row(holders), body.scroll_offset.y)
            scrolled.append(body.scroll_offset.y)
        assert scrolled[3] > 0  # the pane scrolled to the fifth holder
        header = holders.virtual_region.y  # back on the first: its header shows too
        assert body.scroll_offset.y <= header


async def test_backspace_also_goes_back():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, BufferScreen)
        await pilot.press("backspace")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)


async def test_enter_on_a_process_lists_its_buffers_then_a_buffer():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("2", "enter")  # [red]hog, 412
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ProcessScreen) and screen.pid == 412
        table = screen.query_one("#process-buffers")
        assert table.keys() == ["13", "12"]
        assert "[red]hog" in str(screen.query_one("#detail-title").render())
        await pilot.press("down", "enter")
        await settle(pilot)
        assert isinstance(app.screen, BufferScreen) and app.screen.inode == 12
        await pilot.press("enter")  # a holder row opens that process
        await settle(pilot)
        assert isinstance(app.screen, ProcessScreen) and app.screen.pid == 301
        await pilot.press("escape", "escape", "escape")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen) and main_screen(app).view == "processes"


async def test_enter_on_an_exporter_filters_the_buffers():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("3", "down", "enter")  # system
        await pilot.pause()
        assert main_screen(app).view == "buffers"
        assert shown(app) == ["14"]
        assert app.screen.query_one("#filter", Input).value == "re:^system$"


async def test_recording_keys_step_through_samples():
    app = make_app(file_backend(VM_RECORDING))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        n = app.session.backend.sample_count
        assert n > 3

        def header() -> str:
            return str(app.screen.query_one("#header-source").render())

        # a recording opens at its last sample: what a user wants to see first
        assert f"sample {n}/{n}" in header() and app.session.backend.index == n - 1
        await pilot.press("left_curly_bracket")
        await settle(pilot)
        assert f"sample 1/{n}" in header()
        await pilot.press("right_square_bracket")
        await settle(pilot)
        assert f"sample 2/{n}" in header() and app.session.backend.index == 1
        assert app.session.prepared.snap is app.session.backend.sample(1)
        await pilot.press("right_curly_bracket")
        await settle(pilot)
        assert f"sample {n}/{n}" in header()
        assert app.session.backend.sample(n - 1).taken_at in header()
        await pilot.press("left_square_bracket")
        await settle(pilot)
        assert f"sample {n - 1}/{n}" in header()
        await pilot.press("left_curly_bracket")
        await settle(pilot)
        assert f"sample 1/{n}" in header()
        await pilot.press("left_square_bracket")  # before the first: stays
        await settle(pilot)
        assert app.session.backend.index == 0


async def test_two_snapshot_files_open_as_a_recording_in_time_order(tmp_path):
    """``--load after.yaml before.yaml``: one recording, earliest first; the
    header names the file of the sample shown; Δ columns compare with it."""
    from dmabuf_top.cli.options import open_backend
    from dmabuf_top.cli.top import build_parser
    from dmabuf_top.io.codec import dump_snapshot
    from dmabuf_top.io.loader import load_snapshots

    samples = load_snapshots(VM_RECORDING)
    before, after = tmp_path / "before.yaml", tmp_path / "after.yaml"
    before.write_text(dump_snapshot(samples[0]))
    after.write_text(dump_snapshot(samples[-1]))
    args = build_parser().parse_args(["--load", str(after), str(before)])
    backend = open_backend(args)
    shown = [backend.sample(i).taken_at for i in range(backend.sample_count)]
    assert shown == [samples[0].taken_at, samples[-1].taken_at]
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.session.is_recording

        def header() -> str:
            return str(app.screen.query_one("#header-source").render())

        assert "after.yaml" in header() and "sample 2/2" in header()
        await pilot.press("left_square_bracket")
        await settle(pilot)
        assert "before.yaml" in header() and "sample 1/2" in header()
        await pilot.press("right_square_bracket", "2")
        await settle(pilot)
        assert "after.yaml" in header() and "sample 2/2" in header()
        grew = {r.obj.comm: r.obj.delta for r in app.session.prepared.rows["processes"]}
        assert grew["leak-grow"] > 0 and grew["leak-churn"] == 0


async def test_recording_keys_do_nothing_on_a_single_snapshot():
    app = make_app(file_backend(VM_SNAPSHOT))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert not app.session.is_recording
        assert app.check_action("step_sample", (1,)) is False
        await pilot.press("right_square_bracket", "left_square_bracket")
        await settle(pilot)
        assert "sample" not in str(app.screen.query_one("#header-source").render())


def test_cells_hold_no_control_character():
    """Cells are painted as plain text (never markup): what reaches the terminal is
    what they hold, so they must hold nothing a terminal would act on."""
    snap = small_snapshot()
    from dmabuf_top.analysis.history import History
    from dmabuf_top.report.live_rows import prepare
    from dmabuf_top.textsafe import is_printable

    prep = prepare(snap, History(), None)
    for view, rows in prep.rows.items():
        for r in rows:
            assert len(r.cells) == len(COLUMNS[view])
            for v in r.cells:
                assert is_printable(v), (view, v)


async def test_bidi_zero_width_and_backslashes_render_escaped():
    """Issue 21 item 11: a bidi override, a zero-width space, U+061C and a literal
    ``\\e[31m`` in a name and a comm reach the screen as distinct escapes."""
    snap = small_snapshot()
    snap.buffers[13].name = "lit\\e[31m \u202eevil\u200b\u061c\x1b[2J"
    snap.processes[412].comm = "\u2067hog\u2069"
    app = make_app(ScriptedBackend([snap]))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = main_screen(app).table()
        assert cell_of(table, "13", "name") == (
            "lit\\\\e[31m \\u202eevil\\u200b\\u061c\\e[2J")
        svg = app.export_screenshot()
        for raw in ("\x1b", "\u202e", "\u200b", "\u061c", "\u2067"):
            assert raw not in svg
        await pilot.press("2")
        await pilot.pause()
        assert cell_of(main_screen(app).table(), "412", "comm") == "\\u2067hog\\u2069"


async def test_untrusted_names_render_literally():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = main_screen(app).table()
        assert cell_of(table, "13", "name") == "[/x][bold]evil\\e[31m"
        svg = app.export_screenshot()
        assert "[/x][bold]evil\\e[31m" in svg.replace("&#160;", " ").replace("&#x27;", "'")
        assert "\x1b" not in svg and "\x07" not in svg
        await pilot.press("2")
        await pilot.pause()
        assert cell_of(main_screen(app).table(), "412", "comm") == "[red]hog"


def test_vm_snapshot_is_a_real_capture():
    snap = load_snapshots(VM_SNAPSHOT)[0]
    assert snap.source.kernel.startswith("6.1.") and snap.kernel.sources == ["bufinfo"]
    assert any(not b.holders for b in snap.buffers.values())  # kernel-only
    assert any(b.name and "[bold]" in b.name for b in snap.buffers.values())


async def test_keys_typed_right_after_slash_go_to_the_filter():
    """A fast typist (or a busy machine): the keys after "/" are already queued
    when it is handled; they must reach the filter, not sort the table."""
    from textual import events

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = main_screen(app)
        for ch, key in [("/", "slash"), ("s", "s"), ("c", "c"), ("a", "a"), ("n", "n")]:
            app.post_message(events.Key(key, ch))
        await pilot.pause()
        await pilot.pause()
        assert app.screen.query_one("#filter", Input).value == "scan"
        assert screen.sort["buffers"] == ("size", False)
        assert shown(app) == ["12"]
        await pilot.press("slash")  # in the filter, "/" is just a character
        assert app.screen.query_one("#filter", Input).value == "scan/"


async def test_the_palettes_screenshot_saves_an_svg_to_the_export_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no ~/Downloads (Textual's own went there)
    out = tmp_path / "out"
    out.mkdir()
    app = make_app(export_dir=out)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"screenshot")
        await wait_until(pilot, lambda: palette_offers(app, "screenshot"),
                         "the palette to offer 'Screenshot'")
        await pilot.press("enter")
        await wait_until(pilot, lambda: any(n.title == "screenshot written" for n in app.notices),
                         "the 'screenshot written' notice")
        saved = list(out.glob("dmabuf-top-*.svg"))
        assert len(saved) == 1, list(out.iterdir())
        svg = saved[0].read_text()
        assert svg.startswith("<svg") and "Buffers" in svg and "camera" in svg
        assert misplaced_runs(svg)[1] == []  # its columns survive librsvg
