"""What screens and palette commands ask of the app: a protocol the app implements,
so they depend on it and on the session, never on the app class."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from dmabuf_top.tui.history import BufferLife
from dmabuf_top.tui.rows import Prepared
from dmabuf_top.tui.session import Session
from dmabuf_top.tui.widgets.header import SummaryHeader


class AppHost(Protocol):
    session: Session
    export_dir: Path

    @property
    def prepared(self) -> Prepared | None: ...

    @property
    def suspect_window(self) -> int: ...

    @property
    def is_recording(self) -> bool: ...

    def update_header(self, header: SummaryHeader) -> None: ...

    def open_buffer(self, inode: int) -> None: ...

    def open_process(self, pid: int) -> None: ...

    def buffer_life(self, inode: int) -> BufferLife | None: ...

    def first_rss(self, pid: int) -> int | None: ...

    def action_suspect_window(self, direction: int) -> None: ...

    def action_export(self, directory: str | None = None) -> None: ...

    def action_export_to(self) -> None: ...

    def action_toggle_pause(self) -> None: ...

    def action_toggle_graphs(self) -> None: ...

    def action_next_theme(self) -> None: ...

    # Textual's App API
    def notify(self, message: str, *, title: str = "", severity: Any = "information",
               timeout: float | None = None, markup: bool = True) -> None: ...

    def push_screen(self, screen: Any, callback: Any = None) -> Any: ...
