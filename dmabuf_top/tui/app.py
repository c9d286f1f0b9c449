"""The dmabuf-top app: screens, keys and the refresh timer.

Scans run off the UI thread, one at a time (:class:`~dmabuf_top.tui.refresher.Refresher`,
no Textual); each result comes back as a :class:`DmabufTopApp.Refreshed` message, and
the screens watching ``data_version`` show it. The data lives in
:class:`~dmabuf_top.tui.session.Session`.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

from textual import on
from textual.app import App, SystemCommand
from textual.message import Message
from textual.reactive import var
from textual.screen import Screen
from textual.timer import Timer

from dmabuf_top.collect.bpf_events import EventSource
from dmabuf_top.collect.contract import Backend
from dmabuf_top.io.settings import settings_path
from dmabuf_top.tui.growth import DEFAULT_WINDOW, step_window
from dmabuf_top.tui.keys import GLOBAL_KEYS
from dmabuf_top.tui.palette import dmabuf_commands
from dmabuf_top.tui.preferences import Preferences
from dmabuf_top.tui.refresher import Refresher, ScanResult
from dmabuf_top.tui.screens.detail import BufferScreen, ProcessScreen
from dmabuf_top.tui.screens.export_dir import ask_export_dir, export_shown
from dmabuf_top.tui.screens.help import HelpScreen
from dmabuf_top.tui.screens.main import MainScreen
from dmabuf_top.tui.session import Session
from dmabuf_top.tui.settings_actions import SettingsActions
from dmabuf_top.tui.themes import (
    DEFAULT_THEME,
    ThemeSet,
    check_theme,
    dmabuf_variables,
    load_themes,
)
from dmabuf_top.tui.widgets.status_line import status_line


class Notice(NamedTuple):
    """One notification the app showed."""

    message: str
    title: str
    severity: str
    markup: bool


class DmabufTopApp(SettingsActions, App[int]):
    """The app. ``backend`` gives snapshots; see :func:`run_tui`."""

    CSS_PATH = "app.tcss"
    #: from this many buffers on, the objects of the first load are frozen for the GC
    FREEZE_ABOVE = 2000
    TITLE = "dmabuf-top"
    BINDINGS = [k.binding() for k in GLOBAL_KEYS if k.action != "command_palette"]
    #: moves each time what the screens show changes (a scan shown, pause, a failure,
    #: the interval): the screens showing data watch it
    data_version: var[int] = var(0)

    class Refreshed(Message):
        """A scan's result, posted from the scan thread."""

        def __init__(self, result: ScanResult) -> None:
            super().__init__()
            self.result = result

    def __init__(
        self,
        backend: Backend,
        *,
        delay: float | None = None,
        theme: str | None = None,
        themes: ThemeSet | None = None,
        export_dir: str | os.PathLike[str] | None = None,
        suspect_window: int = DEFAULT_WINDOW,
        settings_file: Path | None = None,
    ) -> None:
        """``delay`` and ``theme`` (from the command line) win over ``settings_file``'s
        (None: settings are neither read nor saved)."""
        super().__init__()
        if "TEXTUAL_ANIMATIONS" not in os.environ:
            # a top redraws what changed, nothing slides (TEXTUAL_ANIMATIONS=full to have it)
            self.animation_level = "none"
        self.session = Session(backend, suspect_window)
        self.prefs = Preferences.load(settings_file, theme=theme, interval=delay)
        #: scans, pause, the work waiting, the interval (no Textual): its results come
        #: back as Refreshed messages
        self.refresher = Refresher(
            self.session, float(self.prefs.start("interval", 2.0)),  # type: ignore[arg-type]
            self._post)
        self.session.raw_bytes = self.prefs.start("units", "human") == "bytes"
        self.session.order.sort.update(self.prefs.loaded.sort)
        self.themes = themes if themes is not None else load_themes()
        self.start_theme = str(self.prefs.start("theme", DEFAULT_THEME))
        self.export_dir = Path(export_dir) if export_dir is not None else Path.cwd()
        self.show_graphs = True
        #: graphs scale from 0 (the 0 key), else from their lowest value
        self.zero_scale = False
        #: what the app notified, newest last
        self.notices: list[Notice] = []
        #: the interval the refresh timer runs at (None: no timer, a static source)
        self.timer_interval: float | None = None
        self._timer: Timer | None = None
        self._frozen = False

    @property
    def delay(self) -> float:
        """The refresh interval (seconds): the refresher's."""
        return self.refresher.interval

    @delay.setter
    def delay(self, value: float) -> None:
        self.refresher.interval = value

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return dmabuf_variables(self.current_theme.to_color_system().generate())

    def notify(self, message: str, *, title: str = "", severity: Any = "information",
               timeout: float | None = None, markup: bool = True) -> None:
        """The status line of the screen shown says it (in place of what it said): no
        toasts piling up over the table; a toast only before a screen is up."""
        self.notices.append(Notice(message, title, severity, markup))
        del self.notices[:-100]
        line = status_line(self.screen_stack)
        if line is None:
            super().notify(message, title=title, severity=severity, timeout=timeout,
                           markup=markup)
        else:
            line.say(message, title, str(severity), timeout, markup)

    def on_mount(self) -> None:
        for theme in self.themes.themes.values():
            self.register_theme(theme)
        if self.start_theme not in self.available_themes and self.prefs.loaded.theme:
            self.prefs.error = f"{self.prefs.path}: unknown theme '{self.start_theme}'"
            self.start_theme = DEFAULT_THEME
        if self.start_theme in self.available_themes:
            self.theme = self.start_theme
        self.push_screen(MainScreen(self.prefs.loaded))
        self.call_after_refresh(self.say_load_errors)  # (on the main screen's status line)
        self.prefs.started = self.current_settings()
        self.refresher.request()
        if self.session.backend.live:
            self._start_timer()

    def on_unmount(self) -> None:
        if self._frozen:
            gc.unfreeze()
            self._frozen = False

    # -- collection ---------------------------------------------------------
    def _start_timer(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_interval(self.delay, self.refresher.tick)
        self.timer_interval = self.delay

    def _post(self, result: ScanResult) -> None:
        """Scan thread: its result to the UI thread, as a message."""
        try:
            self.post_message(self.Refreshed(result))
        except RuntimeError:  # the app has closed its loop
            pass

    @on(Refreshed)
    def _refreshed(self, message: Refreshed) -> None:
        """UI thread: a scan landed; the screens watching ``data_version`` show it."""
        first = self.session.prepared is None
        if self.refresher.landed(message.result):
            self.data_version += 1
        prepared = self.session.prepared
        if first and prepared is not None and len(prepared.snap.buffers) >= self.FREEZE_ABOVE:
            # Everything built so far lives as long as the app: keep the cyclic
            # GC from walking it again and again (full collections of a
            # 10,000-row table stall the UI for 100+ ms). Undone at exit.
            gc.freeze()
            self._frozen = True

    def open_buffer(self, inode: int) -> None:
        self.push_screen(BufferScreen(inode))

    def open_process(self, pid: int) -> None:
        self.push_screen(ProcessScreen(pid))

    # -- actions --------------------------------------------------------------
    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            prep = self.session.prepared
            notes = list(getattr(self.session.backend, "notes", ()))
            self.push_screen(HelpScreen(notes + (prep.snap.warnings if prep is not None else [])))

    def action_toggle_pause(self) -> None:
        self.refresher.toggle_pause()
        paused = self.refresher.paused
        if self.session.backend.live:
            self.notify("paused" if paused else "resumed", timeout=2)
        else:
            self.notify("a file does not refresh; paused" if paused else "resumed", timeout=2)
        self.data_version += 1

    def set_suspect_window(self, window: int) -> None:
        """Look for growth across ``window`` samples from now on (a recording's: at
        most all of its samples); the sample shown is prepared again (no new scan)."""
        window = self.session.bound_window(window)
        if window == self.session.suspect_window:
            self.bell()
            return
        self.session.suspect_window = window
        self.notify(f"suspects: growth across {window} samples", timeout=2)
        if self.session.prepared is not None:
            self.refresher.request(redo=True)

    def action_suspect_window(self, direction: int) -> None:
        self.set_suspect_window(step_window(self.session.suspect_window, direction))

    def action_refresh_now(self) -> None:
        self.refresher.refresh_now()

    def action_export(self, directory: str | None = None) -> None:
        export_shown(self, directory)

    def action_export_to(self) -> None:
        ask_export_dir(self)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("step_sample", "first_sample", "last_sample"):
            return self.session.is_recording
        if action == "interval":  # + - only where a live source refreshes
            return self.session.backend.live
        return True

    def action_step_sample(self, step: int) -> None:
        self._go_sample(self.refresher.shown_sample() + step)

    def action_first_sample(self) -> None:
        self._go_sample(0)

    def action_last_sample(self) -> None:
        self._go_sample(self.session.sample_count - 1)

    def _go_sample(self, index: int) -> None:
        index = max(0, min(index, self.session.sample_count - 1))
        if index == self.refresher.shown_sample() and self.session.prepared is not None:
            self.bell()
            return
        self.refresher.request(index)

    # -- command palette ----------------------------------------------------
    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Textual's, but its Screenshot (to ~/Downloads, often missing) is the app's
        (to the export directory)."""
        yield from (c for c in super().get_system_commands(screen) if c.title != "Screenshot")
        yield from dmabuf_commands(self, screen)

def run_tui(
    backend: Backend,
    delay: float | None = None,
    theme: str | None = None,
    suspect_window: int = DEFAULT_WINDOW,
    events: tuple[EventSource | None, str] = (None, ""),
) -> int:
    """Run the app until the user quits (settings: io/settings.py's file); returns the
    exit code. An unknown ``theme`` raises :class:`~dmabuf_top.tui.themes.UnknownTheme`.
    ``events``: this machine's dma-buf event source, or why there is none."""
    themes = load_themes()
    if theme is not None:
        check_theme(theme, themes)
    app = DmabufTopApp(backend, delay=delay, theme=theme, themes=themes,
                       suspect_window=suspect_window, settings_file=settings_path())
    app.session.watch_events(*events)
    app.run()
    return app.return_code or 0
