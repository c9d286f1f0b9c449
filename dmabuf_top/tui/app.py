"""The dmabuf-top TUI: a top for dma-bufs.

Collection runs off the UI thread (``collect()``, accounting and row
preparation in a daemon thread, awaited by a Textual worker), one at a time:
the timer skips a tick while a scan is in flight, so refreshes never overlap.
The UI thread only applies prepared rows to the tables by diff.
"""

from __future__ import annotations

import asyncio
import gc
import os
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from textual import work
from textual.app import App, SystemCommand
from textual.screen import Screen
from textual.timer import Timer

from ..backends.base import Backend
from ..snapshot_io import SnapshotError
from ..textsafe import printable
from ..themes import DEFAULT_THEME, ThemeSet, load_themes
from .export import export_snapshot
from .growth import DEFAULT_WINDOW, LiveSamples, step_window, suspects_over
from .history import BufferLife, History
from .keys import GLOBAL_KEYS
from .rows import VIEW_NAMES, VIEW_TITLES, Prepared, prepare, record
from .screens.detail import BufferScreen, ProcessScreen
from .screens.export import ExportDirScreen
from .screens.help import HelpScreen
from .screens.main import MainScreen
from .widgets.diff_table import DiffTable
from .widgets.header import HeaderState, SummaryHeader

#: refresh intervals that + and - step through (seconds)
INTERVALS = (0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0, 60.0)
#: samples drawn in the header graph
GRAPH_SAMPLES = 120


def step_interval(delay: float, direction: int) -> float:
    """The next interval up (``direction`` > 0) or down the ladder."""
    if direction > 0:
        return next((d for d in INTERVALS if d > delay + 1e-9), INTERVALS[-1])
    return next((d for d in reversed(INTERVALS) if d < delay - 1e-9), INTERVALS[0])


class DmabufTopApp(App[int]):
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
        delay: float = 2.0,
        theme: str | None = None,
        themes: ThemeSet | None = None,
        export_dir: str | os.PathLike[str] | None = None,
        suspect_window: int = DEFAULT_WINDOW,
    ) -> None:
        super().__init__()
        if "TEXTUAL_ANIMATIONS" not in os.environ:
            # a top redraws what changed and nothing else (no sliding tab
            # underline, no smooth scrolling): fewer bytes over ssh, quicker
            # keys on 10,000 rows; TEXTUAL_ANIMATIONS=full brings them back
            self.animation_level = "none"
        #: growth suspects: grew across this many samples without falling back
        self.suspect_window = max(2, suspect_window)
        #: live: the session's recent samples, for the suspects (collector thread)
        self.samples = LiveSamples()
        self.backend = backend
        self.delay = delay
        self.themes = themes if themes is not None else load_themes()
        self.start_theme = theme or DEFAULT_THEME
        self.export_dir = Path(export_dir) if export_dir is not None else Path.cwd()
        self.history = History(prune=not self.is_recording)
        self.prepared: Prepared | None = None
        self.paused = False
        self.failed = ""
        self.show_graphs = True
        self._collecting = False
        self._pending_sample: int | None = None
        self._pending_redo = False
        #: a timed scan that landed after pause was pressed: shown on resume
        self._held: Prepared | None = None
        #: ctrl+r came while a scan was running: one more scan once it is done
        self._pending_refresh = False
        self._timer: Timer | None = None
        self._frozen = False
        #: wall-clock seconds of the last few UI updates (for the benchmark)
        self.apply_times: list[float] = []

    # -- setup ------------------------------------------------------------
    @property
    def is_recording(self) -> bool:
        return len(getattr(self.backend, "snapshots", ())) > 1

    @property
    def theme_cycle(self) -> list[str]:
        names = list(self.themes.names)
        if DEFAULT_THEME in names:
            names.remove(DEFAULT_THEME)
            names.insert(0, DEFAULT_THEME)
        return names

    def get_theme_variable_defaults(self) -> dict[str, str]:
        v = self.current_theme.to_color_system().generate()
        return {
            "dmabuf-new": v["success-muted"],
            "dmabuf-freed": v["text-disabled"],
            "dmabuf-graph": v["primary"],
            "dmabuf-warning": v["warning"],
        }

    def on_mount(self) -> None:
        for theme in self.themes.themes.values():
            self.register_theme(theme)
        if self.start_theme in self.available_themes:
            self.theme = self.start_theme
        for err in self.themes.errors:
            self.notify(
                printable(err), title="theme file skipped", severity="warning", timeout=10,
                markup=False,
            )
        self.push_screen(MainScreen())
        self.start_collect()
        if self.backend.live:
            self._timer = self.set_interval(self.delay, self._tick)

    def on_unmount(self) -> None:
        if self._frozen:
            gc.unfreeze()
            self._frozen = False

    # -- collection ---------------------------------------------------------
    def _tick(self) -> None:
        if not self.paused:
            self.start_collect(timed=True)

    def start_collect(
        self, sample: int | None = None, redo: bool = False, timed: bool = False
    ) -> bool:
        """Start one scan unless one is running (then a sample step, or a
        ``redo``, is queued). ``redo``: no new scan, the sample shown is
        prepared again (the suspect window changed). ``timed``: started by the
        refresh timer, so held back if pause is pressed before it lands."""
        if self._collecting:
            if sample is not None:
                self._pending_sample = sample
            self._pending_redo = self._pending_redo or redo
            return False
        self._collecting = True
        self._collect(sample, redo, timed)
        return True

    # The scan runs in a daemon thread of its own, awaited by an async worker:
    # quitting never waits for a scan in flight (a slow adb device, say), as
    # it would for a thread of the default executor (@work(thread=True)). Not
    # exclusive: start_collect already never starts a scan while one runs.
    @work(group="collect", exit_on_error=False)
    async def _collect(self, sample: int | None, redo: bool = False, timed: bool = False) -> None:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[Prepared] = loop.create_future()

        def settle(fn: Any, arg: Any) -> None:
            if not done.done():
                fn(arg)

        def scan() -> None:
            try:
                result: Any = self._prepare(sample, redo)
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
        self._collecting = False
        if timed and self.paused:
            # paused while this scan ran: the screen stays as it was when
            # pause was pressed; resuming shows it (unless a newer one came)
            self._held = prepared
            self._scan_done()
            return
        self._apply(prepared)

    def _prepare(self, sample: int | None, redo: bool = False) -> Prepared:
        """Collector thread: one snapshot, accounted, recorded, rows built,
        growth suspects found (live: over the session's recent samples; in a
        recording: over the samples up to the one shown)."""
        previous = self.prepared
        window = self.suspect_window
        if not self.is_recording:
            if redo and previous is not None:
                seq = self.samples.snapshots()
                return prepare(
                    previous.snap, self.history, previous, sample=previous.sample,
                    suspects=suspects_over(seq, window), window=window, have=len(seq),
                )
            snap = self.backend.collect()
            self.samples.add(snap, keep_at_least=window)
            seq = self.samples.snapshots()
            return prepare(
                snap, self.history, previous,
                suspects=suspects_over(seq, window), window=window, have=len(seq),
            )
        snaps = self.backend.snapshots  # type: ignore[attr-defined]
        index = self.backend.index if sample is None else sample  # type: ignore[attr-defined]
        index = max(0, min(index, len(snaps) - 1))
        self.backend.index = index  # type: ignore[attr-defined]
        for j in range(self.history.samples, index):  # history in recording order
            record(snaps[j], self.history)
        snap = self.backend.collect()
        seq = snaps[: index + 1]
        found = suspects_over(seq, window)
        at = index if self.history.samples > index else None
        return prepare(
            snap, self.history, previous, sample=at, suspects=found, window=window,
            have=len(seq),
        )

    def _apply(self, prepared: Prepared) -> None:
        """UI thread: show a new snapshot."""
        t0 = time.perf_counter()
        self._held = None
        first = self.prepared is None
        self.prepared = prepared
        self.failed = ""
        self._data_changed()
        if first and len(prepared.snap.buffers) >= self.FREEZE_ABOVE:
            # Everything built so far lives as long as the app: keep the cyclic
            # GC from walking it again and again (full collections of a
            # 10,000-row table stall the UI for 100+ ms). Undone at exit.
            gc.freeze()
            self._frozen = True
        self.apply_times.append(time.perf_counter() - t0)
        del self.apply_times[:-50]
        if self._pending_sample is not None:
            sample, self._pending_sample = self._pending_sample, None
            if sample != prepared.sample:
                self._pending_redo = False  # the new sample uses the new window
                self.start_collect(sample)
                return
        if self._pending_redo:
            self._pending_redo = False
            if prepared.window != self.suspect_window:
                self.start_collect(redo=True)
                return
        self._scan_done()

    def _collect_failed(self, message: str) -> None:
        self._collecting = False
        self.failed = message
        self._data_changed()
        self._scan_done()

    def _scan_done(self) -> None:
        """A scan ended: run the one ctrl+r asked for meanwhile (its result
        must postdate the key, so the scan in flight does not count)."""
        if self._pending_refresh and not self._collecting:
            self._pending_refresh = False
            self.start_collect()

    def _data_changed(self) -> None:
        screen = self.screen
        # Only the screen on top is updated now: the others catch up when they
        # come back (on_screen_resume); one still being mounted shows the data
        # from its own on_mount.
        if getattr(screen, "ready", False):
            screen.data_changed()  # type: ignore[attr-defined]

    # -- shared queries for screens -----------------------------------------
    def header_state(self) -> HeaderState:
        prep = self.prepared
        sample = ""
        if self.is_recording and prep is not None:
            n = len(self.backend.snapshots)  # type: ignore[attr-defined]
            sample = f"sample {self.backend.index + 1}/{n}"  # type: ignore[attr-defined]
        return HeaderState(
            snap=prep.snap if prep else None,
            totals=prep.totals if prep else None,
            source=self.backend.describe() if prep else "",
            file=Path(str(getattr(self.backend, "path", ""))).name,
            live=self.backend.live,
            paused=self.paused,
            delay=self.delay,
            sample=sample,
            failed=self.failed,
        )

    def update_header(self, header: SummaryHeader) -> None:
        prep = self.prepared
        graph = (
            self.history.totals(upto=prep.sample, last=GRAPH_SAMPLES) if prep is not None else []
        )
        header.show(self.header_state(), graph)

    def buffer_life(self, inode: int) -> BufferLife | None:
        prep = self.prepared
        return self.history.buffer_life(inode, prep.sample if prep else None)

    def first_rss(self, pid: int) -> int | None:
        with self.history.lock:
            return self.history.first_rss(pid)

    def open_buffer(self, inode: int) -> None:
        self.push_screen(BufferScreen(inode))

    def open_process(self, pid: int) -> None:
        self.push_screen(ProcessScreen(pid))

    # -- actions --------------------------------------------------------------
    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            prep = self.prepared
            self.push_screen(HelpScreen(prep.snap.warnings if prep is not None else []))

    def action_toggle_pause(self) -> None:
        self.paused = not self.paused
        held, self._held = self._held, None
        if not self.paused and held is not None and not self._collecting:
            self._apply(held)  # (a scan under way, from ctrl+r, is newer: wait for it)
        if self.backend.live:
            self.notify("paused" if self.paused else "resumed", timeout=2)
        else:
            self.notify("a file does not refresh; paused" if self.paused else "resumed",
                        timeout=2)
        self._data_changed()

    def action_interval(self, direction: int) -> None:
        self.delay = step_interval(self.delay, direction)
        if self._timer is not None:
            self._timer.stop()
            self._timer = self.set_interval(self.delay, self._tick)
        self.notify(f"refresh every {self.delay:g}s", timeout=2)
        self._data_changed()

    def set_suspect_window(self, window: int) -> None:
        """Look for growth across ``window`` samples from now on; the sample
        shown is prepared again (no new scan)."""
        self.suspect_window = max(2, window)
        self.notify(f"suspects: growth across {self.suspect_window} samples", timeout=2)
        if self.prepared is not None:
            self.start_collect(redo=True)

    def action_suspect_window(self, direction: int) -> None:
        self.set_suspect_window(step_window(self.suspect_window, direction))

    def action_refresh_now(self) -> None:
        if not self.start_collect():
            self._pending_refresh = True

    def action_toggle_graphs(self) -> None:
        self.show_graphs = not self.show_graphs
        self.set_class(not self.show_graphs, "-no-graphs")

    def action_next_theme(self) -> None:
        names = self.theme_cycle
        if not names:
            return
        i = names.index(self.theme) + 1 if self.theme in names else 0
        self.theme = names[i % len(names)]
        self.notify(f"theme: {printable(self.theme)}", timeout=2, markup=False)

    def action_export(self, directory: str | None = None) -> None:
        prep = self.prepared
        if prep is None:
            self.notify("nothing to export yet", severity="warning")
            return
        try:
            path = export_snapshot(prep.snap, directory or self.export_dir)
        except SnapshotError as e:
            self.notify(
                printable(str(e)), title="export failed", severity="error", timeout=8,
                markup=False,
            )
            return
        self.notify(printable(str(path)), title="snapshot written", timeout=8, markup=False)

    def action_export_to(self) -> None:
        def done(directory: str | None) -> None:
            if directory:
                self.action_export(directory)

        self.push_screen(ExportDirScreen(str(self.export_dir)), done)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "step_sample":
            return self.is_recording
        return True

    def action_step_sample(self, step: int) -> None:
        self._go_sample(self._shown_sample() + step)

    def action_first_sample(self) -> None:
        if self.is_recording:
            self._go_sample(0)
        else:
            self._table_action("scroll_top")

    def action_last_sample(self) -> None:
        if self.is_recording:
            self._go_sample(len(self.backend.snapshots) - 1)  # type: ignore[attr-defined]
        else:
            self._table_action("scroll_bottom")

    def _shown_sample(self) -> int:
        if self._pending_sample is not None:
            return self._pending_sample
        return int(getattr(self.backend, "index", 0))

    def _go_sample(self, index: int) -> None:
        n = len(self.backend.snapshots)  # type: ignore[attr-defined]
        index = max(0, min(index, n - 1))
        if index == self._shown_sample() and self.prepared is not None:
            self.bell()
            return
        self.start_collect(index)

    def _table_action(self, name: str) -> None:
        focused = self.screen.focused
        if isinstance(focused, DiffTable):
            getattr(focused, f"action_{name}")()

    # -- command palette ----------------------------------------------------
    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand(
            "Export snapshot", "Write the snapshot shown to a YAML file here", self.action_export
        )
        yield SystemCommand(
            "Export snapshot to…", "Choose a directory for the YAML file", self.action_export_to
        )
        yield SystemCommand(
            "Pause / resume", "Stop or restart refreshing", self.action_toggle_pause
        )
        yield SystemCommand("Toggle graphs", "Hide or show sparklines", self.action_toggle_graphs)
        yield SystemCommand("Next dmabuf-top theme", "Cycle colour themes", self.action_next_theme)
        if isinstance(screen, MainScreen):
            for view in VIEW_NAMES:
                yield SystemCommand(
                    f"View: {VIEW_TITLES[view]}",
                    f"Show the {view} table",
                    lambda v=view: screen.action_view(v),
                )


def run_tui(
    backend: Backend,
    delay: float = 2.0,
    theme: str | None = None,
    suspect_window: int = DEFAULT_WINDOW,
) -> int:
    """Run the app until the user quits; returns the exit code. An unknown
    ``theme`` or a window under 2 samples is a usage error (exit 2, one line)."""
    from ..cli import UsageError

    if suspect_window < 2:
        raise UsageError(f"--suspect-window must be at least 2 samples, not {suspect_window}")
    themes = load_themes()
    if theme is not None:
        from textual.theme import BUILTIN_THEMES

        known = list(themes.names) + [n for n in BUILTIN_THEMES if n not in themes.names]
        if theme not in known:
            raise UsageError(f"unknown theme '{theme}' (choose from: {', '.join(known)})")
    app = DmabufTopApp(
        backend, delay=delay, theme=theme, themes=themes, suspect_window=suspect_window
    )
    app.run()
    return app.return_code or 0
