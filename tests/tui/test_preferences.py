"""Pilot tests: settings persist (io/settings.py's file): theme, view, sort, units,
interval and the tree changed in the app, quit, start again: restored; the command line wins for its
run without being saved; a broken file is one notice, the defaults, and left alone."""

from __future__ import annotations

from pathlib import Path

import yaml
from textual.widgets import Tab

from dmabuf_top.io.settings import Settings, read_settings, write_settings
from dmabuf_top.tui.app import DmabufTopApp
from dmabuf_top.tui.preferences import SETTINGS_VIEWS
from dmabuf_top.tui.screens.main import MainScreen
from tests.support.pilot import SIZE, ScriptedBackend, settle, small_snapshot
from tests.support.table_readers import cell_of, column_x, shown_columns


def app_with(path: Path, **kw) -> DmabufTopApp:
    return DmabufTopApp(ScriptedBackend([small_snapshot()]), settings_file=path, **kw)


def main(app: DmabufTopApp) -> MainScreen:
    assert isinstance(app.screen, MainScreen)
    return app.screen


async def test_theme_view_sort_units_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "dmabuf-top" / "config.yaml"
    app = app_with(path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.theme == "dmabuf-dark" and app.delay == 2.0
        app.theme = "dmabuf-light"
        await pilot.press("2")  # Processes
        await pilot.press("i", "i")  # by pid, reversed
        app.set_units(True)
        app.action_interval(1)
        await settle(pilot)
        assert cell_of(main(app).table(), "500", "rss") == str(2 << 20)
        await pilot.press("q")
    assert app.return_code == 0
    assert read_settings(path, SETTINGS_VIEWS) == Settings(
        theme="dmabuf-light", view="processes", interval=3.0, units="bytes",
        sort={"buffers": ("size", False), "processes": ("pid", True),
              "exporters": ("bytes", False), "suspects": ("rate", False), "apps": ("rss", False)},
        tree=False,
    )

    again = app_with(path)
    async with again.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = main(again)
        assert again.theme == "dmabuf-light"
        assert again.delay == 3.0 and again.timer_interval == 3.0
        assert screen.view == "processes" and screen.table().has_focus
        assert screen.table().keys() == ["500", "412", "301"]  # pid, reversed
        assert "▼" in screen.table().state.title("pid")  # pid reversed: largest first
        assert cell_of(screen.table(), "500", "rss") == str(2 << 20)
        assert not again.notices


async def test_the_tree_survives_a_restart_and_so_does_the_list(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"

    def family_app() -> DmabufTopApp:
        snap = small_snapshot()
        snap.processes[412].ppid = 301  # [red]hog under the compositor
        return DmabufTopApp(ScriptedBackend([snap]), settings_file=path)

    app = family_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("t")  # the Processes view as a tree
        await settle(pilot)
        await pilot.press("q")
    saved = read_settings(path, SETTINGS_VIEWS)
    assert saved.tree is True and saved.view == "processes"
    assert "tree: true" in path.read_text()

    again = family_app()
    async with again.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen, table = main(again), main(again).table()
        assert screen.view == "processes" and screen.process_tree
        assert str(screen.query_one("#tab-processes", Tab).label) == (
            "Processes (tree)"
        )
        assert cell_of(table, "412", "comm") == "└─ [red]hog"
        tree_x = column_x(table, "buffers")  # the tree's columns: COMM wider, for the glyphs
        await pilot.press("t")  # back to the list: saved too
        await settle(pilot)
        assert cell_of(table, "412", "comm") == "[red]hog"
        assert column_x(table, "buffers") < tree_x
        await pilot.press("q")
    assert read_settings(path, SETTINGS_VIEWS).tree is False

    third = family_app()
    async with third.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert not main(third).process_tree
        assert cell_of(main(third).table(), "412", "comm") == "[red]hog"


async def test_hidden_columns_are_restored_and_saved(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    write_settings(path, Settings(hidden_columns={"buffers": ["inode", "count"]}))
    app = app_with(path)
    async with app.run_test(size=(200, 40)) as pilot:
        await settle(pilot)
        shown = shown_columns(main(app).table())
        assert "inode" not in shown and "count" not in shown and "size" in shown
        main(app).hide_columns("buffers", ["count"])
        await settle(pilot)
        assert "inode" in shown_columns(main(app).table())
        await pilot.press("q")
    assert read_settings(path, SETTINGS_VIEWS).hidden_columns == {"buffers": ["count"]}


async def test_the_command_line_wins_and_is_not_saved(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    write_settings(path, Settings(theme="dmabuf-light", interval=5.0, view="exporters"))
    app = app_with(path, theme="dmabuf-contrast", delay=0.5)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.theme == "dmabuf-contrast" and app.delay == 0.5
        assert main(app).view == "exporters"  # not on the command line: the file's
        await pilot.press("1")
        await pilot.press("q")
    saved = read_settings(path, SETTINGS_VIEWS)
    assert (saved.theme, saved.interval, saved.view) == ("dmabuf-light", 5.0, "buffers")


async def test_a_broken_file_is_one_notice_and_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    text = "theme: [\x1b[31m\nview: processes\n"
    path.write_text(text)
    app = app_with(path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.theme == "dmabuf-dark" and main(app).view == "buffers"
        [notice] = [n for n in app.notices if n.title == "settings file ignored"]
        assert notice.message.startswith(str(path)) and "invalid YAML" in notice.message
        assert "\x1b" not in notice.message and not notice.markup
        await pilot.press("q")
    assert app.return_code == 0
    assert path.read_text() == text  # nothing changed in the app: the file is left alone


async def test_a_broken_file_is_replaced_once_the_user_changes_something(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("units: kib\n")
    app = app_with(path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert [n.title for n in app.notices] == ["settings file ignored"]
        await pilot.press("3")
        await pilot.press("q")
    assert yaml.safe_load(path.read_text())["view"] == "exporters"


async def test_an_unknown_theme_in_the_file_is_a_notice(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    write_settings(path, Settings(theme="no-such-theme"))
    app = app_with(path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.theme == "dmabuf-dark"
        assert any("unknown theme 'no-such-theme'" in n.message for n in app.notices)


async def test_a_settings_file_that_cannot_be_written_is_said_at_exit(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    app = app_with(tmp_path / "file" / "config.yaml")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("q")
    assert app.return_code == 0  # never fatal
