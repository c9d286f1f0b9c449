"""Sending a signal to a process (F9 / ``k``, as in htop): a dialog naming the process
(comm, pid, command line, as printable text) and the dma-buf bytes it holds, a list of
signals (TERM first), then the backend's :class:`~dmabuf_top.collect.contract.Signaller`
off the UI thread; the result is a notification. Static sources have no signaller.
The process is remembered as seen (start time, boot id): the data on screen can be
minutes old (paused), and a pid that now names another process is not signalled."""

from __future__ import annotations

import signal
import threading
from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from dmabuf_top.collect.contract import (
    BackendError,
    ProcessChanged,
    SeenProcess,
    signaller_of,
)
from dmabuf_top.textsafe import printable, shown_line
from dmabuf_top.tui.host import AppHost
from dmabuf_top.units import human_bytes

#: the signals offered, TERM (the default) first
SIGNALS: list[tuple[str, int]] = [
    (name, int(getattr(signal, f"SIG{name}")))
    for name in ("TERM", "KILL", "HUP", "INT", "STOP", "CONT", "USR1", "USR2")
]


@dataclass(frozen=True)
class SignalTarget:
    """The process a signal is for, as the data shown has it."""

    pid: int
    comm: str
    cmdline: str = ""
    buffers: int = 0
    rss: int = 0
    pss: int = 0
    #: what tells this process from a later one with its pid
    start_time: int | None = None
    boot_id: str = ""

    @property
    def seen(self) -> SeenProcess:
        return SeenProcess(self.pid, self.comm, self.start_time, self.boot_id)

    @property
    def label(self) -> str:
        """``comm (pid)``, printable."""
        return f"{printable(self.comm) or '?'} ({self.pid})"


def signal_target(app: AppHost, pid: int) -> SignalTarget | None:
    """What the data shown says of ``pid`` (None: not in it)."""
    prep = app.session.prepared
    if prep is None:
        return None
    boot = prep.snap.boot_id
    stats = next((p for p in prep.procs if p.pid == pid), None)
    if stats is not None:
        return SignalTarget(pid, stats.comm, stats.cmdline, stats.buffers, stats.rss, stats.pss,
                            stats.start_time, boot)
    proc = prep.snap.processes.get(pid) or prep.snap.ancestors.get(pid)  # (tree rows)
    if proc is None:
        return None
    return SignalTarget(pid, proc.comm, proc.cmdline, start_time=proc.start_time, boot_id=boot)


class SignalScreen(ModalScreen[int | None]):
    """Dismissed with the signal number chosen, or None (Esc)."""

    BINDINGS = [Binding("escape,q", "cancel", "Cancel", show=False)]

    def __init__(self, target: SignalTarget) -> None:
        super().__init__()
        self.target = target

    def compose(self) -> ComposeResult:
        t = self.target
        held = (
            f"holds {t.buffers} dma-buf{'s' if t.buffers != 1 else ''}: "
            f"Rss {human_bytes(t.rss)} ({t.rss} bytes), Pss {human_bytes(t.pss)}"
        )
        # Content(str): untrusted text is never markup; printable(): never an escape
        with Vertical(id="signal-box", classes="dialog"):
            yield Label(Content(f"Send a signal to {t.label}"), classes="dialog-title")
            yield Label(Content(held), id="signal-held")
            if t.cmdline:
                yield Label(Content(printable(t.cmdline)), id="signal-cmdline")
            yield OptionList(
                *[Option(Content(f"SIG{name:<5} ({num})"), id=name) for name, num in SIGNALS],
                id="signal-list",
            )
            yield Label(Content("Enter: send  Esc: cancel"), classes="dialog-hint")

    def on_mount(self) -> None:
        menu = self.query_one(OptionList)
        menu.highlighted = 0
        menu.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(dict(SIGNALS)[str(event.option.id)])

    def action_cancel(self) -> None:
        self.dismiss(None)


def can_signal(app: AppHost) -> bool:
    """Whether the source's processes can be signalled (a live local one): F9 is offered."""
    return signaller_of(app.session.backend) is not None


def ask_signal(app: AppHost, pid: int | None) -> None:
    """Ask which signal to send to ``pid``, then send it; every outcome is a notification."""
    signaller = signaller_of(app.session.backend)
    if signaller is None:
        app.notify("signals go to live sources only: a file's processes are not running",
                   severity="warning", timeout=4)
        return
    target = signal_target(app, pid) if pid is not None else None
    if target is None:
        app.notify("no process chosen", severity="warning", timeout=3)
        return
    names = {num: name for name, num in SIGNALS}

    def report(message: str, title: str, severity: str) -> None:
        app.notify(message, title=title, severity=severity, timeout=6, markup=False)

    def send(signum: int) -> None:
        try:
            signaller.send_signal(target.seen, signum)
            message = f"SIG{names[signum]} sent to {target.label}"
            title, severity = "signal sent", "information"
        except ProcessChanged as e:  # the pid is another process now: refused, nothing sent
            message, title, severity = shown_line(str(e)), "not signalled", "warning"
        except BackendError as e:
            message, title, severity = shown_line(str(e)), "signal failed", "error"
        try:
            app.call_from_thread(report, message, title, severity)
        except RuntimeError:  # the app has closed
            pass

    def chosen(signum: int | None) -> None:
        if signum is not None:  # adb: a round trip to the device, off the UI thread
            threading.Thread(target=send, args=(signum,), name="dmabuf-top-kill",
                             daemon=True).start()

    app.push_screen(SignalScreen(target), chosen)
