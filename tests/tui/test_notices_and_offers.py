"""Pilot tests at 80x24 (where issue 25 saw them): notices share one status line (no
toasts piling up over the table), a bad regex says why and what is still shown, and the
keys offered are those the source can act on (F9 Kill, + - the interval)."""

from __future__ import annotations

from textual.widgets import Input, Label
from textual.widgets._toast import Toast

from dmabuf_top.tui.app import DmabufTopApp
from dmabuf_top.tui.screens.main import MainScreen
from dmabuf_top.tui.widgets.key_footer import shown_keys
from dmabuf_top.tui.widgets.status_line import StatusLine
from tests.support.pilot import ScriptedBackend, demo_at, settle, small_snapshot
from tests.support.table_readers import row_count

SIZE = (80, 24)


def footer_labels(app: DmabufTopApp) -> list[str]:
    return [label for _key, label, *_ in shown_keys(app.screen)]


async def test_window_keys_share_one_status_line_no_toasts():
    async with demo_at(SIZE) as (app, pilot):
        await pilot.press("4")
        for _ in range(4):  # issue 25 saw a toast a press, piled over half the screen
            await pilot.press("left_parenthesis")
            await settle(pilot)
        line = app.screen.query_one(StatusLine)
        assert line.display and str(line.render()) == "suspects: growth across 4 samples"
        assert len(app.screen.query(StatusLine)) == 1 and not app.query(Toast)
        assert sum("growth across" in n.message for n in app.notices) == 4


async def test_help_writes_the_window_keys_as_bound():
    from dmabuf_top.tui.screens.help import help_text

    text = help_text()
    assert "(( ))" in text and "(< >)" not in text
    row = next(x for x in text.splitlines() if x.startswith("( )"))
    assert "suspects: look at fewer / more samples" in row  # the keys as bound: ( )


async def test_a_bad_regex_says_why_and_that_the_last_filter_stays():
    async with demo_at(SIZE) as (app, pilot):
        screen = app.screen
        assert isinstance(screen, MainScreen)
        table = screen.table()
        every = row_count(table)
        await pilot.press("slash", *"re:[unclosed")
        await settle(pilot)
        error = screen.query_one("#filter-error", Label)
        said = str(error.render())
        assert error.display and "bad regular expression" in said
        assert "no filter: every row shown" in said and row_count(table) == every
        assert screen.query_one("#filter", Input).has_class("-invalid")
        # with a valid filter first: that one is kept, and said so
        await pilot.press("escape", "slash", *"re:drm")
        await settle(pilot)
        kept = row_count(table)
        assert 0 < kept < every and not error.display
        await pilot.press(*"[x")
        await settle(pilot)
        assert "still filtering by 're:drm'" in str(error.render()) and row_count(table) == kept
        await pilot.press("backspace", "backspace")  # valid again: the message goes
        await settle(pilot)
        assert not error.display and row_count(table) == kept


async def test_no_kill_and_no_interval_keys_on_a_recording():
    async with demo_at(SIZE) as (app, pilot):
        assert "Kill" not in footer_labels(app)
        delay = app.delay
        await pilot.press("plus", "minus")
        assert app.delay == delay and not any("refresh every" in n.message for n in app.notices)
        await pilot.press("2", "k")  # k says why it does nothing
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)
        assert "live sources only" in str(app.screen.query_one(StatusLine).render())
        await pilot.press("enter")  # a process's pane: no Kill either
        await settle(pilot)
        assert not isinstance(app.screen, MainScreen) and "Kill" not in footer_labels(app)
        await pilot.press("escape", "1", "enter")  # a buffer's pane: no Cmdline key there
        await settle(pilot)
        assert "Back" in footer_labels(app) and "Cmdline" not in footer_labels(app)


async def test_a_live_source_that_can_signal_offers_kill_and_the_interval():
    from tests.tui.test_htop_keys import SignallingBackend

    app = DmabufTopApp(SignallingBackend([small_snapshot()]), delay=2.0)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "Kill" in footer_labels(app)
        await pilot.press("plus")
        assert app.delay == 3.0
    plain = DmabufTopApp(ScriptedBackend([small_snapshot()]), delay=3600)
    async with plain.run_test(size=SIZE) as pilot:  # live, but no way to signal
        await settle(pilot)
        assert "Kill" not in footer_labels(plain)
