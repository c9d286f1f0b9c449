"""``dmabuf-top events [--format text|json] [--bytes]``: stream dma-buf events as
they happen, one line each, until ctrl+c (status 0); status 1 when the event source
cannot run here (the one error line saying why)."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, TextIO

from dmabuf_top.cli.options import PROG, Parser

if TYPE_CHECKING:
    from dmabuf_top.collect.bpf_events import EventSource
    from dmabuf_top.model import DmabufEvent

#: how often the stream is written out (the source reads on its own thread)
FLUSH_SECONDS = 0.1
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def build_parser() -> Parser:
    p = Parser(
        prog=f"{PROG} events",
        description=(
            "Stream dma-buf events (export, fd, get, attach, detach, mmap, release) as "
            "they happen, one line each: time, event, comm/pid, inode, exporter, size, "
            "and the fd or device. Needs root (BPF: the dma_buf tracepoints on Linux "
            "7.0+, fentry/fexit on older kernels with BTF). ctrl+c ends it."
        ),
    )
    p.add_argument(
        "--format", choices=("text", "json"), default="text",
        help="text for people, json for machines (one object per line; default text)",
    )
    p.add_argument("--bytes", action="store_true", help="raw byte counts (text)")
    return p


def run(argv: Sequence[str]) -> int:
    from dmabuf_top.collect.bpf_events import EventSource
    from dmabuf_top.collect.bpf_loader import BpfUnavailable
    from dmabuf_top.collect.contract import BackendError
    from dmabuf_top.report.events_report import event_json_line, text_line

    args = build_parser().parse_args(argv)
    try:
        source = EventSource()
    except BpfUnavailable as e:
        raise BackendError(f"dma-buf events not available: {e}") from None
    line = event_json_line if args.format == "json" else partial(text_line, raw=args.bytes)
    out = sys.stdout
    lost_shown = 0
    stop = threading.Event()
    # ctrl+c and SIGTERM end the loop between two writes, never inside one: the
    # events taken are written, then the rest is read and written too
    old = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in STOP_SIGNALS}
    try:
        with source:
            source.start()
            print(
                f"{PROG}: watching dma-buf events ({source.how}, {len(source.programs)} "
                "programs); ctrl+c ends", file=sys.stderr, flush=True,
            )
            while not stop.wait(FLUSH_SECONDS):
                lost_shown = _flush(source, line, out, lost_shown)
            source.stop()  # every event left in the ring buffer is read
            lost_shown = _flush(source, line, out, lost_shown)
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
    print(f"{PROG}: {source.received} events, {lost_shown} lost", file=sys.stderr)
    return 0


def _flush(source: EventSource, line: Callable[[DmabufEvent], str], out: TextIO,
           lost_shown: int) -> int:
    """Write the events read since the last call; a warning when more were lost."""
    events = source.take()
    if events:
        out.write("".join(line(e) for e in events))
        out.flush()
    lost = source.lost
    if lost > lost_shown:
        print(
            f"{PROG}: warning: {lost - lost_shown} events lost (ring buffer full; "
            f"{lost} in all)", file=sys.stderr, flush=True,
        )
    return lost
