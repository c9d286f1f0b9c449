"""Pilot tests: htop's keys mean what they mean in htop: F6 < > the sort-by menu, I
inverts, F2 S the setup screen (columns, theme, interval, units; saved on close), F9 k a
signal to a real child process (through a pidfd, after checking it is still the
process shown: a pid that is another process now is refused), h help, Z pause; not
offered for a file."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from textual.widgets import OptionList, Select, SelectionList

from dmabuf_top.collect.contract import SeenProcess
from dmabuf_top.collect.pidsignal import signal_seen
from dmabuf_top.io.settings import read_settings
from dmabuf_top.model import Holder, Process
from dmabuf_top.tui.app import DmabufTopApp
from dmabuf_top.tui.preferences import SETTINGS_VIEWS
from dmabuf_top.tui.screens.detail import BufferScreen
from dmabuf_top.tui.screens.help import HelpScreen
from dmabuf_top.tui.screens.main import MainScreen
from dmabuf_top.tui.screens.setup import SetupScreen
from dmabuf_top.tui.screens.signal import SIGNALS, SignalScreen
from dmabuf_top.tui.screens.sort_menu import SortMenu
from tests.support.pilot import (
    SIZE,
    ScriptedBackend,
    file_backend,
    palette_offers,
    settle,
    small_snapshot,
    wait_until,
)
from tests.support.seen import boot_id, sleeper, start_time
from tests.support.table_readers import cell_of, shown_columns


def make_app(backend=None, **kw) -> DmabufTopApp:
    kw.setdefault("delay", 3600)
    return DmabufTopApp(backend or ScriptedBackend([small_snapshot()]), **kw)


def main(app: DmabufTopApp) -> MainScreen:
    screen = next(s for s in app.screen_stack if isinstance(s, MainScreen))
    return screen


@pytest.mark.parametrize("key", ["f6", "less_than_sign", "greater_than_sign"])
async def test_the_sort_menu_sorts_and_again_reverses(key):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert main(app).sort["buffers"] == ("size", False)
        await pilot.press(key)
        assert isinstance(app.screen, SortMenu)
        menu = app.screen.query_one(OptionList)
        titles = [str(menu.get_option_at_index(i).prompt) for i in range(menu.option_count)]
        assert "SIZE  ▼" in titles and "HOLDERS" in titles
        assert menu.highlighted == titles.index("SIZE  ▼")  # the sorted one
        await pilot.press("down", "enter")  # the next one: REFS? the order of the columns
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)
        chosen = main(app).sort["buffers"]
        assert chosen[0] != "size" and not chosen[1]
        await pilot.press(key, "enter")  # Enter on the sorted one: reversed
        await settle(pilot)
        assert main(app).sort["buffers"] == (chosen[0], True)
        await pilot.press(key, "escape")  # Esc: nothing changes
        await settle(pilot)
        assert main(app).sort["buffers"] == (chosen[0], True)


async def test_I_inverts_the_sort_order():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert main(app).table().keys() == ["13", "12", "14", "15"]
        await pilot.press("I")
        await settle(pilot)
        assert main(app).table().keys() == ["15", "14", "12", "13"]


async def test_h_is_help():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("h")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("h")
        assert isinstance(app.screen, MainScreen)


async def test_Z_pauses_as_in_htop():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("Z")
        assert app.refresher.paused
        await pilot.press("Z")
        assert not app.refresher.paused


@pytest.mark.parametrize("key", ["f2", "S"])
async def test_setup_changes_apply_at_once_and_are_saved_on_close(key, tmp_path: Path):
    path = tmp_path / "config.yaml"
    app = make_app(settings_file=path, delay=None)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = main(app).table()
        assert "inode" in shown_columns(table)
        await pilot.press(key)
        assert isinstance(app.screen, SetupScreen)
        columns = app.screen.query_one("#setup-buffers", SelectionList)
        assert columns.has_focus  # the view shown's list
        await pilot.press("down", "space")  # the second one: INODE (after GROW)
        await settle(pilot)
        assert "inode" not in shown_columns(table)
        app.screen.query_one("#setup-theme", Select).value = "dmabuf-light"
        app.screen.query_one("#setup-interval", Select).value = 5.0
        app.screen.query_one("#setup-units", Select).value = "bytes"
        await settle(pilot)
        assert app.theme == "dmabuf-light" and app.delay == 5.0
        assert app.timer_interval == 5.0
        assert cell_of(table, "13", "size") == str(64 << 20)  # behind the dialog, at once
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)
    saved = read_settings(path, SETTINGS_VIEWS)
    assert saved.hidden_columns == {"buffers": ["inode"]}
    assert (saved.theme, saved.interval, saved.units) == ("dmabuf-light", 5.0, "bytes")


async def test_setup_keeps_one_column_at_least():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("S")
        columns = app.screen.query_one("#setup-exporters", SelectionList)
        columns.deselect_all()
        await settle(pilot)
        assert columns.selected == [SETTINGS_VIEWS["exporters"][-1]]
        assert main(app).state("exporters").hidden == set(SETTINGS_VIEWS["exporters"][:-1])


# -- signals -----------------------------------------------------------------------------

class SignallingBackend(ScriptedBackend):
    """A scripted snapshot in which a real child process holds buffer 14; signals go
    through the local backend's check and pidfd."""

    def send_signal(self, seen: SeenProcess, signum: int) -> None:
        signal_seen(seen, signum)


@pytest.fixture
def child(tmp_path: Path):
    with sleeper(tmp_path / "got") as proc:
        yield proc


def snapshot_held_by(pid: int, ticks_before: int = 0):
    """The child as a scan of this boot shows it; ``ticks_before``: as an earlier
    process with its pid would have been (started that many clock ticks before)."""
    snap = small_snapshot()
    snap.boot_id = boot_id()
    snap.processes[pid] = Process(pid, "sleeper\x1b[31m", "python -c [red]sleeper", 1000,
                                  start_time=start_time(pid) - ticks_before)
    del snap.processes[500]
    snap.buffers[14].holders = [Holder(pid, [7])]
    return snap


async def wait_notice(pilot, app: DmabufTopApp, title: str):
    """The last notice titled ``title``, once there is one."""
    await wait_until(pilot, lambda: any(n.title == title for n in app.notices),
                     f"a {title!r} notice")
    return [n for n in app.notices if n.title == title][-1]


async def open_signal_dialog(pilot, app: DmabufTopApp, pid: int, key: str) -> SignalScreen:
    await pilot.press("2")
    await settle(pilot)
    table = main(app).table()
    table.move_cursor(table.keys().index(str(pid)))
    await pilot.press(key)
    await pilot.pause()
    assert isinstance(app.screen, SignalScreen)
    return app.screen


async def test_k_sends_the_signal_chosen_to_a_real_process(child, tmp_path: Path):
    app = make_app(SignallingBackend([snapshot_held_by(child.pid)]))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        dialog = await open_signal_dialog(pilot, app, child.pid, "k")
        text = " ".join(str(w.render()) for w in dialog.query("Label"))
        # the process named as printable text, and what it holds
        assert f"sleeper\\e[31m ({child.pid})" in text and "\x1b" not in text
        assert "holds 1 dma-buf: Rss 2.0M (2097152 bytes), Pss 2.0M" in text
        assert "python -c [red]sleeper" in text
        menu = dialog.query_one(OptionList)
        assert menu.highlighted == 0 and SIGNALS[0][0] == "TERM"  # TERM is the default
        usr1 = [name for name, _ in SIGNALS].index("USR1")
        await pilot.press(*["down"] * usr1, "enter")
        notice = await wait_notice(pilot, app, "signal sent")
        assert notice.message == f"SIGUSR1 sent to sleeper\\e[31m ({child.pid})"
        got = tmp_path / "got"
        await wait_until(pilot, lambda: got.exists() and got.read_text(),
                         "the child to write down the signal it got")
        assert (tmp_path / "got").read_text() == str(int(signal.SIGUSR1))
        assert child.poll() is None  # USR1 handled: still running


async def test_f9_enter_sends_term(child):
    app = make_app(SignallingBackend([snapshot_held_by(child.pid)]))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_signal_dialog(pilot, app, child.pid, "f9")
        await pilot.press("enter")
        await wait_notice(pilot, app, "signal sent")
        assert child.wait(timeout=10) == -signal.SIGTERM


async def test_escape_sends_nothing(child):
    app = make_app(SignallingBackend([snapshot_held_by(child.pid)]))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_signal_dialog(pilot, app, child.pid, "k")
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, MainScreen), "the dialog to close")
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)
        assert child.poll() is None and not [n for n in app.notices if "signal" in n.title]


async def test_a_process_that_exited_is_not_signalled(child):
    app = make_app(SignallingBackend([snapshot_held_by(child.pid)]))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_signal_dialog(pilot, app, child.pid, "k")
        child.kill()
        child.wait()
        await pilot.press("enter")
        notice = await wait_notice(pilot, app, "not signalled")
        assert notice.message == (
            f"pid {child.pid} is no longer sleeper\\e[31m (exited): not signalled")
        assert notice.severity == "warning" and not notice.markup


async def test_a_pid_that_is_another_process_now_is_refused(child, tmp_path: Path):
    """Issue 21 item 5: the screen (paused) shows a process that had this pid before; the
    pid is the child's now. The signal is refused, named, and the child never gets it
    (a real pid reuse is impractical: the snapshot remembers an earlier start time)."""
    app = make_app(SignallingBackend([snapshot_held_by(child.pid, ticks_before=1)]))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("Z")  # paused: what is shown can be minutes old
        await open_signal_dialog(pilot, app, child.pid, "k")
        await pilot.press("enter")
        notice = await wait_notice(pilot, app, "not signalled")
        assert notice.message == (
            f"pid {child.pid} is no longer sleeper\\e[31m (started later): not signalled")
        assert not [n for n in app.notices if n.title == "signal sent"]
    assert child.poll() is None and not (tmp_path / "got").exists()


async def test_k_in_a_buffer_pane_signals_its_holder(child, tmp_path: Path):
    app = make_app(SignallingBackend([snapshot_held_by(child.pid)]))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = main(app).table()
        table.move_cursor(table.keys().index("14"))
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, BufferScreen)
        await pilot.press("k")
        await pilot.pause()
        assert isinstance(app.screen, SignalScreen)
        assert app.screen.target.pid == child.pid
        await pilot.press("enter")
        await wait_notice(pilot, app, "signal sent")
        assert child.wait(timeout=10) == -signal.SIGTERM


async def test_no_signal_for_a_file_or_a_backend_without_the_ability():
    for backend in (file_backend(), ScriptedBackend([small_snapshot()])):
        app = make_app(backend)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await pilot.press("2", "k")
            await pilot.pause()
            assert isinstance(app.screen, MainScreen)
            assert any("live sources only" in n.message for n in app.notices)


async def test_k_outside_the_processes_view_says_where_it_works():
    app = make_app(SignallingBackend([small_snapshot()]))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("k")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
        assert any("Processes view" in n.message for n in app.notices)


async def test_help_lines_keep_their_indent_when_they_wrap():
    app = make_app()
    async with app.run_test(size=(60, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f1")
        await pilot.pause()
        texts = list(app.screen.query(".help-what"))
        keys = list(app.screen.query(".help-key"))
        wrapped = [w for w in texts if w.size.height > 1]
        assert wrapped  # at 60 columns some text takes two lines
        left = {w.content_region.x for w in texts}
        assert len(left) == 1  # every text, wrapped or not, starts in one column
        assert left.pop() > max(k.content_region.x for k in keys)


@pytest.mark.parametrize(("typed", "screen"), [("setup", SetupScreen), ("sort by", SortMenu)])
async def test_the_palette_opens_setup_and_the_sort_menu(typed, screen):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*typed)
        await wait_until(pilot, lambda: palette_offers(app, typed),
                         f"the palette to offer {typed!r}")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, screen)
