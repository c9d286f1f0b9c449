#!/usr/bin/env python3
"""Trace one refresh of the TUI: which ``dmabuf_top/tui`` files and functions it visits,
in order, and every call that climbs back up the layers.

Not a test: prints numbers. It runs the app headless (Pilot, 120x40) on the demo
recording, waits for the first data and one refresh (the startup's paints settled),
then presses ctrl+r once more and records (with
``sys.setprofile`` / ``threading.setprofile``, the scan thread included) every call into
``dmabuf_top/tui`` until the new data is on screen:

    python bench/trace_refresh.py [--checkout /path/to/other/checkout] [--calls]

Layers, top to bottom: the app (``app.py``, ``settings_actions.py``), the screens
(``screens/``), the widgets (``widgets/`` and the table's modules that import Textual),
the data below them (every other ``tui`` module, the table's pure ones included). A
*climb back* is a call from a lower layer into a higher one (session -> app, widget ->
app, screen -> app): the nearest ``tui`` frame up the stack is the caller, so a Textual
message or watcher in between still counts as its sender's call down. The scan thread
handing its result to the app's queue is counted apart, as a post.

Measured on the demo (one ctrl+r), issue 25:
                             7b56a0b / ref25 (ec91732) / now (tui10)
  tui files visited          17 / 19 / 10   (UI thread 14 / 15 / 10, scan thread 8 / 9 / 3)
  dmabuf_top files visited    - / 32 / 28   (UI thread 23 / 20, scan thread 20 / 19)
  calls into tui/         1,091 / 1,236 / 302
  calls into dmabuf_top/      - / 3,246 / 2,601
  climbs back up              2 / 0 / 0
  posts, scan -> UI           0 / 1 / 1
tui10 moved what is not UI below tui/ (history and the live samples to analysis/, the
rows as plain data, their columns and order to report/) and merged tiny hops with their
owners (a table's rows into its state, row painting into the layout, the meters into
the header); the row preparation reuses unchanged rows, hence the fewer calls.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import threading
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve()


_TEXTUAL: dict[str, bool] = {}


def uses_textual(path: str) -> bool:
    """Whether the module at ``path`` imports Textual (a widget), or is pure data."""
    if path not in _TEXTUAL:
        text = Path(path).read_text()
        _TEXTUAL[path] = "from textual" in text or "import textual" in text
    return _TEXTUAL[path]


def layer(rel: str, root: str = "") -> int:
    """0 the app, 1 screens, 2 widgets (the table's too), 3 the data below them (the
    table's pure modules: its layout, state and row diffs, included)."""
    if rel in ("app.py", "settings_actions.py"):
        return 0
    if rel.startswith("screens/"):
        return 1
    if rel.startswith("widgets/") or root and uses_textual(root + rel):
        return 2
    return 3


class Tracer:
    """Records calls into ``root`` (a ``dmabuf_top/tui`` directory)."""

    def __init__(self, root: Path) -> None:
        self.root = str(root) + "/"
        #: the whole package (``dmabuf_top/``): every file of it visited, per thread, so
        #: that code moved out of tui/ still counts
        self.package = str(root.parent) + "/"
        self.all_ui: dict[str, None] = {}
        self.all_scan: dict[str, None] = {}
        self.all_calls = 0
        self.calls: list[tuple[str, str]] = []
        self.climbs: Counter[tuple[str, str]] = Counter()
        #: the files each thread visited, in order
        self.ui_files: dict[str, None] = {}
        self.scan_files: dict[str, None] = {}
        #: calls up from another thread (the scan's): posts to the UI thread's queue
        self.posts: Counter[tuple[str, str]] = Counter()
        self.lock = threading.Lock()

    def rel(self, filename: str) -> str | None:
        return filename[len(self.root):] if filename.startswith(self.root) else None

    def profile(self, frame, event, arg) -> None:  # noqa: ANN001 (sys.setprofile's)
        if event != "call":
            return
        filename = frame.f_code.co_filename
        if filename.startswith(self.package):
            ui = threading.current_thread() is threading.main_thread()
            (self.all_ui if ui else self.all_scan).setdefault(filename[len(self.package):])
            self.all_calls += 1
        callee = self.rel(filename)
        if callee is None:
            return
        name = f"{callee}:{frame.f_code.co_qualname}"
        caller = None
        up = frame.f_back
        while up is not None:
            caller = self.rel(up.f_code.co_filename)
            if caller is not None:
                break
            up = up.f_back
        with self.lock:
            self.calls.append((callee, name))
            ui = threading.current_thread() is threading.main_thread()
            (self.ui_files if ui else self.scan_files).setdefault(callee, None)
            if caller is not None and layer(callee, self.root) < layer(caller, self.root):
                edge = (f"{caller}:{up.f_code.co_qualname}", name)
                if layer(callee) > 0 or threading.current_thread() is threading.main_thread():
                    self.climbs[edge] += 1
                else:  # the scan thread hands its result to the app's queue
                    self.posts[edge] += 1

    def start(self) -> None:
        threading.setprofile(self.profile)
        sys.setprofile(self.profile)

    def stop(self) -> None:
        sys.setprofile(None)
        threading.setprofile(None)


async def trace(tui: Path) -> Tracer:
    from dmabuf_top.cli.options import DEMO_RECORDING
    from dmabuf_top.collect.file import FileBackend
    from dmabuf_top.io.loader import load_files
    from dmabuf_top.tui.app import DmabufTopApp

    app = DmabufTopApp(FileBackend(load_files([DEMO_RECORDING])), delay=3600)
    tracer = Tracer(tui)
    async with app.run_test(size=(120, 40)) as pilot:
        async def until(cond, what: str) -> None:
            for _ in range(5000):
                if cond():
                    return
                await pilot.pause()
            raise SystemExit(f"never came: {what}")

        await until(lambda: app.session.prepared is not None and app.screen.id == "main",
                    "the first data")
        await app.workers.wait_for_complete()
        for traced in (False, True):  # one refresh untraced: the startup's paints settled
            await pilot.pause()
            first = app.session.prepared.serial
            if traced:
                tracer.start()
            await pilot.press("ctrl+r")
            await until(lambda f=first: app.session.prepared.serial != f, "the refresh")
            await pilot.pause()  # (the screen's reaction to the new data)
            await pilot.pause()
        tracer.stop()
    return tracer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkout", type=Path, default=HERE.parent.parent,
                    help="the checkout whose dmabuf_top is traced (default: this one)")
    ap.add_argument("--calls", action="store_true", help="list every call, in order")
    args = ap.parse_args()
    sys.path.insert(0, str(args.checkout.resolve()))
    import dmabuf_top

    tui = Path(dmabuf_top.__file__).resolve().parent / "tui"
    tracer = asyncio.run(trace(tui))
    files: list[str] = []
    for f, _ in tracer.calls:
        if f not in files:
            files.append(f)
    print(f"checkout: {Path(dmabuf_top.__file__).resolve().parent.parent}")
    print(f"tui files visited: {len(files)}")
    for f in files:
        n = sum(1 for g, _ in tracer.calls if g == f)
        print(f"  L{layer(f, tracer.root)} {f}  ({n} calls)")
    print(f"  on the UI thread: {len(tracer.ui_files)} ({', '.join(tracer.ui_files)});"
          f" in the scan thread: "
          f"{len(tracer.scan_files)} ({', '.join(tracer.scan_files)})")
    every = {**tracer.all_ui, **tracer.all_scan}
    print(f"dmabuf_top files visited (tui/ and below): {len(every)}; on the UI thread "
          f"{len(tracer.all_ui)}, in the scan thread {len(tracer.all_scan)}; "
          f"{tracer.all_calls} calls")
    print(f"  UI thread: {', '.join(tracer.all_ui)}")
    print(f"  scan thread: {', '.join(tracer.all_scan)}")
    print(f"calls: {len(tracer.calls)} ({len({n for _, n in tracer.calls})} functions)")
    print(f"climbs back: {sum(tracer.climbs.values())} "
          f"({len(tracer.climbs)} distinct)")
    for (a, b), n in tracer.climbs.most_common():
        print(f"  {a} -> {b}  x{n}")
    print(f"posts from the scan thread up to the UI thread: {sum(tracer.posts.values())}")
    for (a, b), n in tracer.posts.most_common():
        print(f"  {a} -> {b}  x{n}")
    if args.calls:
        for _, name in tracer.calls:
            print(f"    {name}")


if __name__ == "__main__":
    main()
