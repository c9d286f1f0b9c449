"""The dmabuf-top app: screens, keys, the refresh timer and the scan worker.

Scans run off the UI thread (collect, accounting and rows in a daemon thread awaited
by a worker), one at a time; the UI thread only applies prepared rows to the tables
by diff. The data state lives in :class:`~dmabuf_top.tui.session.Session`.
"""

from __future__ import annotations

import asyncio
import gc
import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

from textual import work
from textual.app import App, SystemCommand
from textual.screen import ModalScreen, Screen
from textual.timer import Timer

from dmabuf_top.collect.bpf_events import EventSource
from dmabuf_top.collect.contract import Backend
from dmabuf_top.io.settings import settings_path
from dmabuf_top.tui.growth import DEFAULT_WINDOW, step_window
from dmabuf_top.tui.history import BufferLife
from dmabuf_top.tui.keys import GLOBAL_KEYS
from dmabuf_top.tui.palette import dmabuf_commands
from dmabuf_top.tui.preferences import Preferences
from dmabuf_top.tui.rows import Prepared
from dmabuf_top.tui.screens.detail import BufferScreen, DetailScreen, ProcessScreen
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
from dmabuf_top.tui.widgets.header import SummaryHeader
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
        self.delay = float(self.prefs.start("interval", 2.0))  # type: ignore[arg-type]
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
        self._pending_sample: int | None = None
        self._pending_redo = False
        #: ctrl+r came while a scan was running: one more scan once it is done
        self._pending_refresh = False
        self._timer: Timer | None = None
        self._frozen = False

    # -- the session's state, as screens and tests read it ---------------------
    @property
    def backend(self) -> Backend:
        return self.session.backend

    @property
    def prepared(self) -> Prepared | None:
        return self.session.prepared

    @property
    def paused(self) -> bool:
        return self.session.paused

    @property
    def suspect_window(self) -> int:
        return self.session.suspect_window

    @property
    def is_recording(self) -> bool:
        return self.session.is_recording

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
        self.start_collect()
        if self.backend.live:
            self._start_timer()

    def on_unmount(self) -> None:
        if self._frozen:
            gc.unfreeze()
            self._frozen = False

    # -- collection ---------------------------------------------------------
    def _start_timer(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_interval(self.delay, self.tick)
        self.timer_interval = self.delay

    def tick(self) -> None:
        """The refresh timer fired: a timed scan. Paused, a live source is scanned still
        (its history and suspects go on), the newest scan held for resume while the
        screen stays as it was; a file has nothing new to scan."""
        if self.backend.live or not self.session.paused:
            self.start_collect(timed=True)

    def start_collect(
        self, sample: int | None = None, redo: bool = False, timed: bool = False
    ) -> bool:
        """Start one scan unless one is running (then a sample step, or a
        ``redo``, is queued). ``redo``: no new scan, the sample shown is
        prepared again (the suspect window changed). ``timed``: started by the
        refresh timer, so held back if pause is pressed before it lands."""
        if self.session.collecting:
            if sample is not None:
                self._pending_sample = sample
            self._pending_redo = self._pending_redo or redo
            return False
        self.session.collecting = True
        self._collect(sample, redo, timed)
        return True

    # The scan runs in a daemon thread of its own, awaited by an async worker: quitting
    # never waits for a scan in flight (a slow adb device), as it would for a thread of
    # @work(thread=True). Not exclusive: start_collect never starts one beside another.
    @work(group="collect", exit_on_error=False)
    async def _collect(self, sample: int | None, redo: bool = False, timed: bool = False) -> None:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[Prepared] = loop.create_future()

        def settle(fn: Any, arg: Any) -> None:
            if not done.done():
                fn(arg)

        def scan() -> None:
            try:
                result: Any = self.session.prepare(sample, redo)
                fn = done.set_result
            except Exception as e:  # any backend failure: keep the last good data
                result, fn = e, done.set_exception
            try:
                loop.call_soon_threadsafe(settle, fn, result)
            except RuntimeError:  # the app has closed its loop
                pass

        threading.Thread(target=scan, name="dmabuf-top-scan", daemon=True).start()
        try:
            prepared = await done
        except Exception as e:
            self._collect_failed(str(e).splitlines()[0] if str(e) else type(e).__name__)
            return
        self.session.collecting = False
        if timed and self.session.paused:
            # paused while this scan ran: the screen stays as it was when
            # pause was pressed; resuming shows it (unless a newer one came)
            self.session.held = prepared
            self._scan_done()
            return
        self._apply(prepared)

    def _apply(self, prepared: Prepared) -> None:
        """UI thread: show a new snapshot."""
        s = self.session
        s.held = None
        first = s.prepared is None
        s.prepared = prepared
        s.failed = ""
        self._data_changed()
        if first and len(prepared.snap.buffers) >= self.FREEZE_ABOVE:
            # Everything built so far lives as long as the app: keep the cyclic
            # GC from walking it again and again (full collections of a
            # 10,000-row table stall the UI for 100+ ms). Undone at exit.
            gc.freeze()
            self._frozen = True
        if self._pending_sample is not None:
            sample, self._pending_sample = self._pending_sample, None
            if sample != prepared.sample:
                self._pending_redo = False  # the new sample uses the new window
                self.start_collect(sample)
                return
        if self._pending_redo:
            self._pending_redo = False
            if (prepared.window, prepared.raw_bytes) != (s.suspect_window, s.raw_bytes):
                self.start_collect(redo=True)
                return
        self._scan_done()

    def _collect_failed(self, message: str) -> None:
        self.session.collecting = False
        self.session.failed = message
        self._data_changed()
        self._scan_done()

    def _scan_done(self) -> None:
        """A scan ended: run the one ctrl+r asked for meanwhile (its result
        must postdate the key, so the scan in flight does not count)."""
        if self._pending_refresh and not self.session.collecting:
            self._pending_refresh = False
            self.start_collect()

    def _data_changed(self) -> None:
        screen = self.screen
        # Only the screen on top is updated now (or the one a dialog is over: it shows
        # behind it, and setup's changes apply at once): the others catch up when they
        # come back (on_screen_resume); one still being mounted shows the data
        # from its own on_mount.
        if isinstance(screen, ModalScreen) and len(self.screen_stack) > 1:
            screen = self.screen_stack[-2]
        if isinstance(screen, (MainScreen, DetailScreen)) and screen.ready:
            screen.data_changed()

    # -- shared queries for screens -----------------------------------------
    def update_header(self, header: SummaryHeader) -> None:
        header.show(self.session.header_state(self.delay), self.session.graph())

    def buffer_life(self, inode: int) -> BufferLife | None:
        return self.session.buffer_life(inode)

    def first_rss(self, pid: int) -> int | None:
        return self.session.first_rss(pid)

    def open_buffer(self, inode: int) -> None:
        self.push_screen(BufferScreen(inode))

    def open_process(self, pid: int) -> None:
        self.push_screen(ProcessScreen(pid))

    # -- actions --------------------------------------------------------------
    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            prep = self.prepared
            notes = list(getattr(self.backend, "notes", ()))
            self.push_screen(HelpScreen(notes + (prep.snap.warnings if prep is not None else [])))

    def action_toggle_pause(self) -> None:
        s = self.session
        s.paused = not s.paused
        held, s.held = s.held, None
        if not s.paused and held is not None and not s.collecting:
            self._apply(held)  # (a scan under way, from ctrl+r, is newer: wait for it)
        if self.backend.live:
            self.notify("paused" if s.paused else "resumed", timeout=2)
        else:
            self.notify("a file does not refresh; paused" if s.paused else "resumed",
                        timeout=2)
        self._data_changed()

    def set_suspect_window(self, window: int) -> None:
        """Look for growth across ``window`` samples from now on (a recording's: at
        most all of its samples); the sample shown is prepared again (no new scan)."""
        window = self.session.bound_window(window)
        if window == self.suspect_window:
            self.bell()
            return
        self.session.suspect_window = window
        self.notify(f"suspects: growth across {self.suspect_window} samples", timeout=2)
        if self.prepared is not None:
            self.start_collect(redo=True)

    def action_suspect_window(self, direction: int) -> None:
        self.set_suspect_window(step_window(self.suspect_window, direction))

    def action_refresh_now(self) -> None:
        if not self.start_collect():
            self._pending_refresh = True

    def action_export(self, directory: str | None = None) -> None:
        export_shown(self, directory)

    def action_export_to(self) -> None:
        ask_export_dir(self)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("step_sample", "first_sample", "last_sample"):
            return self.is_recording
        if action == "interval":  # + - only where a live source refreshes
            return self.backend.live
        return True

    def action_step_sample(self, step: int) -> None:
        self._go_sample(self._shown_sample() + step)

    def action_first_sample(self) -> None:
        self._go_sample(0)

    def action_last_sample(self) -> None:
        self._go_sample(self.session.sample_count - 1)

    def _shown_sample(self) -> int:
        if self._pending_sample is not None:
            return self._pending_sample
        return self.session.sample_index

    def _go_sample(self, index: int) -> None:
        index = max(0, min(index, self.session.sample_count - 1))
        if index == self._shown_sample() and self.prepared is not None:
            self.bell()
            return
        self.start_collect(index)

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
