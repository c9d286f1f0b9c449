"""``dmabuf-top record -o FILE [-i S] [-n N | --duration S] [--adb [SERIAL]]
[--force]``: one sample per interval appended to a recording
(:mod:`dmabuf_top.io.record_writer`; ``.gz`` compresses); SIGTERM or ctrl+c stop it
with every complete sample kept."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from dmabuf_top.cli.options import (
    PROG,
    Parser,
    Stopped,
    UsageError,
    add_source_options,
    check_output_path,
    open_backend,
    positive_float,
    positive_int,
    sigterm_stops,
)
from dmabuf_top.collect.contract import Backend
from dmabuf_top.io.errors import SnapshotError
from dmabuf_top.model import Snapshot
from dmabuf_top.textsafe import printable
from dmabuf_top.timefmt import refine_time
from dmabuf_top.units import human_bytes

if TYPE_CHECKING:
    from dmabuf_top.collect.bpf_events import EventSource
    from dmabuf_top.io.record_writer import RecordingWriter


def build_parser() -> Parser:
    p = Parser(
        prog=f"{PROG} record",
        description=(
            "Append one sample per interval to a recording (multi-document YAML; "
            "only changes are stored after the first sample; FILE.gz compresses). "
            "A recorder stopped at any moment, even by SIGKILL, leaves every "
            "complete sample readable."
        ),
    )
    add_source_options(p)
    p.add_argument("-o", "--output", metavar="FILE", required=True, help="recording to write")
    p.add_argument(
        "-i",
        "--interval",
        type=positive_float,
        default=2.0,
        metavar="S",
        help="seconds between samples (default 2)",
    )
    stop = p.add_mutually_exclusive_group()
    stop.add_argument("-n", "--count", type=positive_int, metavar="N", help="stop after N samples")
    stop.add_argument("--duration", type=positive_float, metavar="S", help="stop after S seconds")
    p.add_argument("-f", "--force", action="store_true", help="overwrite an existing FILE")
    return p


def run(argv: Sequence[str]) -> int:
    from dmabuf_top.io.atomic import is_stream
    from dmabuf_top.io.record_writer import RecordingWriter

    args = build_parser().parse_args(argv)
    if args.load is not None or args.demo:
        raise UsageError("record needs a live source (this machine, or --adb), not a file")
    out = check_output_path(args.output)
    # a link too is never written through; a FIFO or /dev/null is written into
    if os.path.lexists(out) and not is_stream(out) and not args.force:
        raise UsageError(f"{printable(str(out))} exists (use --force to overwrite it)")
    backend = open_backend(args)
    if not backend.live:
        raise UsageError("record needs a live source (this machine, or --adb)")
    events = _event_source(backend)
    start, wall = time.monotonic(), time.time()
    first = backend.collect()  # FILE is opened (truncated) only now: a failing source
    first.taken_at = refine_time(first.taken_at, wall)  # leaves an old recording as it was
    try:
        writer = RecordingWriter(out, interval=args.interval, overwrite=args.force)
    except SnapshotError:
        if events is not None:
            events.close()
        raise
    tty = sys.stderr.isatty()
    try:
        with sigterm_stops():
            _record(args, backend, writer, tty, first, start, events)
    except (KeyboardInterrupt, Stopped):
        pass
    finally:
        writer.close()
        if events is not None:
            events.close()
        if tty:
            print(file=sys.stderr)
        print(
            f"recorded {writer.samples} samples to {out} ({human_bytes(writer.size)})",
            file=sys.stderr,
        )
    return 0


def _event_source(backend: Backend) -> EventSource | None:
    """This machine's dma-buf event source, recording from now on, when ``backend``
    scans this machine; None (and one warning line saying why) where it cannot run."""
    from dmabuf_top.collect.bpf_events import start_event_source
    from dmabuf_top.collect.local import LocalBackend

    if not isinstance(backend, LocalBackend):
        return None

    source, why = start_event_source()
    if source is None:
        print(f"{PROG}: warning: dma-buf events not recorded: {why}", file=sys.stderr)
    return source


def _record(args: argparse.Namespace, backend: Backend, writer: RecordingWriter,
            tty: bool, first: Snapshot, start: float, events: EventSource | None) -> None:
    """Sample until --count or --duration (or a stop signal); ``first`` is the sample
    taken at ``start`` (monotonic); each sample goes after the events seen before it."""
    deadline = start + args.duration if args.duration else None
    k = 0
    snap: Snapshot | None = first
    while True:
        if snap is None:
            wall = time.time()
            snap = backend.collect()
            snap.taken_at = refine_time(snap.taken_at, wall)
        if events is not None:
            writer.add(snap, events.take(), events.lost)
        else:
            writer.add(snap)
        if tty:
            print(
                f"\r{writer.samples} samples  {human_bytes(writer.size)}  "
                f"{len(snap.buffers)} buffers  ",
                end="",
                file=sys.stderr,
                flush=True,
            )
        if args.count and writer.samples >= args.count:
            return
        snap = None
        # the k-th sample is due at start + k * interval; skip slots a slow scan missed
        k += 1
        late = int((time.monotonic() - start) / args.interval)
        k = max(k, late)
        due = start + k * args.interval
        if deadline is not None and due >= deadline - 1e-6:
            return
        time.sleep(max(0.0, due - time.monotonic()))
