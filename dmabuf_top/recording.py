"""Subcommands for leak hunting over time: ``record``, ``diff``, ``suspects``.

``cli.main`` finds them in :data:`SUBCOMMANDS` (name -> function(argv) -> exit
status). Every user mistake raises ``cli.UsageError`` (one line, status 2).

* ``dmabuf-top record -o FILE [--interval S] [--count N | --duration S]
  [--adb [SERIAL]] [--force]``: one sample per interval appended to a
  recording (:mod:`dmabuf_top.record_format`; ``.gz`` compresses).
* ``dmabuf-top diff A [B] [--from N] [--to N] [--format text|yaml] [--bytes]``:
  A and B are snapshot or recording files, ``FILE@N`` picks sample N of a
  recording (1 = first, -1 = last). Status 0: no change, 1: changes, 2: error.
* ``dmabuf-top suspects FILE [--window N] [--min-steps K] [--at N]
  [--format text|yaml]``: what kept growing. Status 0: none, 1: some, 2: error.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import time
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import FrameType

from .cli import PROG, UsageError, _add_source_options, _Parser, _positive_float, open_backend
from .model import Snapshot
from .snapshot_io import SnapshotError, dump_yaml, load_snapshots
from .units import human_bytes


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return v


def _sample_number(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a sample number: {text!r}") from None
    if v == 0:
        raise argparse.ArgumentTypeError("samples count from 1 (first) or -1 (last), not 0")
    return v


# ---------------------------------------------------------------- record


def build_record_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog=f"{PROG} record",
        description=(
            "Append one sample per interval to a recording (multi-document YAML; "
            "only changes are stored after the first sample; FILE.gz compresses). "
            "A recorder stopped at any moment, even by SIGKILL, leaves every "
            "complete sample readable."
        ),
    )
    _add_source_options(p)
    p.add_argument("-o", "--output", metavar="FILE", required=True, help="recording to write")
    p.add_argument(
        "-i",
        "--interval",
        type=_positive_float,
        default=2.0,
        metavar="S",
        help="seconds between samples (default 2)",
    )
    stop = p.add_mutually_exclusive_group()
    stop.add_argument("-n", "--count", type=_positive_int, metavar="N", help="stop after N samples")
    stop.add_argument("--duration", type=_positive_float, metavar="S", help="stop after S seconds")
    p.add_argument("-f", "--force", action="store_true", help="overwrite an existing FILE")
    return p


class _Stop(Exception):
    pass


def _on_term(signum: int, frame: FrameType | None) -> None:
    raise _Stop


def _refine_time(snap: Snapshot, wall: float) -> None:
    """Give ``taken_at`` millisecond precision when the backend stamped the
    same second with the same clock (rates over short intervals need it)."""
    dt = datetime.fromtimestamp(wall, timezone.utc)
    sec = dt.replace(microsecond=0)
    coarse = {(sec + timedelta(seconds=k)).strftime("%Y-%m-%dT%H:%M:%SZ") for k in (0, 1)}
    if snap.taken_at in coarse:
        snap.taken_at = dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def cmd_record(argv: Sequence[str]) -> int:
    from .record_format import RecordingWriter

    args = build_record_parser().parse_args(argv)
    if args.load is not None or args.demo:
        raise UsageError("record needs a live source (this machine, or --adb), not a file")
    out = Path(args.output)
    if out.is_dir():
        raise UsageError(f"cannot write {out}: is a directory")
    if str(out.parent) and not out.parent.is_dir():
        raise UsageError(f"cannot write {out}: no such directory {out.parent}")
    if out.exists() and out.stat().st_size > 0 and not args.force:
        raise UsageError(f"{out} exists (use --force to overwrite it)")
    backend = open_backend(args)
    if not getattr(backend, "live", True):
        raise UsageError("record needs a live source (this machine, or --adb)")
    try:
        writer = RecordingWriter(out, interval=args.interval, overwrite=True)
    except SnapshotError as e:
        raise UsageError(str(e)) from None
    tty = sys.stderr.isatty()
    old_term = signal.signal(signal.SIGTERM, _on_term)
    start = time.monotonic()
    deadline = start + args.duration if args.duration else None
    k = 0
    buffers = 0
    try:
        while True:
            wall = time.time()
            snap = backend.collect()
            _refine_time(snap, wall)
            writer.add(snap)
            buffers = len(snap.buffers)
            if tty:
                print(
                    f"\r{writer.samples} samples  {human_bytes(writer.size)}  {buffers} buffers  ",
                    end="",
                    file=sys.stderr,
                    flush=True,
                )
            if args.count and writer.samples >= args.count:
                break
            # the k-th sample is due at start + k * interval; skip slots a slow scan missed
            k += 1
            late = int((time.monotonic() - start) / args.interval)
            k = max(k, late)
            due = start + k * args.interval
            if deadline is not None and due >= deadline - 1e-6:
                break
            time.sleep(max(0.0, due - time.monotonic()))
    except (KeyboardInterrupt, _Stop):
        pass
    finally:
        signal.signal(signal.SIGTERM, old_term)
        writer.close()
        if tty:
            print(file=sys.stderr)
        print(
            f"recorded {writer.samples} samples to {out} ({human_bytes(writer.size)})",
            file=sys.stderr,
        )
    return 0


# ---------------------------------------------------------------- loading samples


class _Files:
    """Loads each file once; picks samples by number (1 = first, -1 = last)."""

    def __init__(self) -> None:
        self._loaded: dict[str, list[Snapshot]] = {}

    def load(self, path: str) -> list[Snapshot]:
        if path not in self._loaded:
            try:
                self._loaded[path] = load_snapshots(path)
            except SnapshotError as e:
                raise UsageError(str(e)) from None
        return self._loaded[path]

    def pick(self, spec: str, default: int) -> tuple[list[Snapshot], int, str]:
        """(all samples of the file, index of the one ``spec`` names, label)."""
        path, number = split_spec(spec)
        snaps = self.load(path)
        n = default if number is None else number
        count = len(snaps)
        if not (1 <= n <= count or -count <= n <= -1):
            raise UsageError(
                f"{path}: no sample {n} (it has {count}: 1..{count}, or -1..-{count} from the end)"
            )
        idx = n - 1 if n > 0 else count + n
        label = path if count == 1 else f"{path}@{idx + 1}"
        return snaps, idx, label


def split_spec(spec: str) -> tuple[str, int | None]:
    """``FILE@N`` -> (FILE, N); a path that exists as given is taken whole."""
    if os.path.exists(spec):
        return spec, None
    m = re.fullmatch(r"(.+)@(-?[0-9]+)", spec)
    if m is None:
        return spec, None
    n = int(m.group(2))
    if n == 0:
        raise UsageError(f"{spec}: samples count from 1 (first) or -1 (last), not 0")
    return m.group(1), n


# ---------------------------------------------------------------- diff


def build_diff_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog=f"{PROG} diff",
        description=(
            "What changed from A to B: buffers that appeared, disappeared or changed "
            "holders; Rss/Pss per process; bytes per exporter and per buffer name. "
            "Exit status 0: no change, 1: changes, 2: error."
        ),
        epilog=(
            "A and B are snapshot or recording files. FILE@N picks sample N of a "
            "recording (1 = first, -1 = last, -2 = the one before...). A FILE without "
            "@N is sample --from (default 1) as A and sample --to (default -1) as B. "
            "With one file, B is the same file: 'diff rec.yaml' = first vs last sample."
        ),
    )
    p.add_argument("a", metavar="A", help="FILE or FILE@N")
    p.add_argument("b", metavar="B", nargs="?", help="FILE or FILE@N (default: A's file)")
    p.add_argument(
        "--from", dest="from_", type=_sample_number, default=1, metavar="N",
        help="sample of a recording A without @N (default 1, the first)",
    )
    p.add_argument(
        "--to", type=_sample_number, default=-1, metavar="N",
        help="sample of a recording B without @N (default -1, the last)",
    )
    p.add_argument(
        "--format", choices=("text", "yaml"), default="text",
        help="text for people, yaml for machines (default text)",
    )
    p.add_argument("--bytes", action="store_true", help="raw byte counts")
    return p


def cmd_diff(argv: Sequence[str]) -> int:
    from .diff import diff_snapshots, diff_to_dict, render_text

    args = build_diff_parser().parse_args(argv)
    files = _Files()
    a_snaps, a_idx, a_label = files.pick(args.a, args.from_)
    b_spec = args.b if args.b is not None else split_spec(args.a)[0]
    b_snaps, b_idx, b_label = files.pick(b_spec, args.to)
    d = diff_snapshots(a_snaps[a_idx], b_snaps[b_idx], a_label, b_label)
    if args.format == "yaml":
        sys.stdout.write(dump_yaml(diff_to_dict(d)))
    else:
        sys.stdout.write(render_text(d, raw_bytes=args.bytes))
    return 1 if d.has_changes else 0


# ---------------------------------------------------------------- suspects


def build_suspects_parser() -> argparse.ArgumentParser:
    from .suspects import DEFAULT_WINDOW

    p = _Parser(
        prog=f"{PROG} suspects",
        description=(
            "Growth suspects in a recording: processes, exporters and buffer names "
            "whose bytes or buffer count grew over the last N samples without ever "
            "falling back. Exit status 0: none, 1: some, 2: error."
        ),
    )
    p.add_argument("file", metavar="FILE", help="a recording")
    p.add_argument(
        "-w",
        "--window",
        type=_positive_int,
        default=DEFAULT_WINDOW,
        metavar="N",
        help=f"look at the last N samples (default {DEFAULT_WINDOW})",
    )
    p.add_argument(
        "--min-steps",
        type=_positive_int,
        metavar="K",
        help="steps of the window that must go up (default: half of them)",
    )
    p.add_argument(
        "--at",
        type=_sample_number,
        default=-1,
        metavar="N",
        help="as seen at sample N (default -1, the last)",
    )
    p.add_argument("--format", choices=("text", "yaml"), default="text")
    p.add_argument("--bytes", action="store_true", help="raw byte counts")
    return p


def _rate(v: float, raw: bool) -> str:
    if raw:
        return f"{v:+.0f}/min"
    return ("+" if v >= 0 else "-") + human_bytes(abs(v)) + "/min"


def cmd_suspects(argv: Sequence[str]) -> int:
    from .suspects import find_suspects, suspects_to_dict
    from .textsafe import printable

    args = build_suspects_parser().parse_args(argv)
    snaps, idx, label = _Files().pick(args.file, args.at)
    path = split_spec(args.file)[0]
    snap = snaps[idx]
    upto = snaps[: idx + 1]
    found = find_suspects(upto, window=args.window, min_steps=args.min_steps)
    if args.format == "yaml":
        doc = {
            "schema": "dmabuf-top-suspects/1",
            "file": path,
            "sample": len(upto),
            "samples": len(snaps),
            "window": min(args.window, len(upto)),
            "suspects": suspects_to_dict(found),
        }
        sys.stdout.write(dump_yaml(doc))
        return 1 if found else 0
    w = min(max(args.window, 2), len(upto))
    print(
        f"{printable(label)}: sample {len(upto)} of {len(snaps)} ({snap.taken_at}), "
        f"window: last {w} samples"
    )
    if not found:
        print("no suspects: nothing grew over the window without falling back")
        return 0
    heads = ["KIND", "WHAT", "BYTES", "BYTES/MIN", "BUFS", "BUFS/MIN", "PSS/MIN", "GROWING SINCE"]
    rows = []
    for s in found:
        rows.append(
            [
                s.kind,
                printable(s.label),
                str(s.bytes_now) if args.bytes else human_bytes(s.bytes_now),
                _rate(s.bytes_per_min, args.bytes),
                str(s.buffers_now),
                f"{s.buffers_per_min:+.1f}/min",
                "-" if s.pss_per_min is None else _rate(s.pss_per_min, args.bytes),
                f"{s.since} (sample {s.since_index + 1})",
            ]
        )
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(heads)]
    right = {2, 3, 4, 5, 6}
    for line in [heads, *rows]:
        cells = [
            c.rjust(widths[i]) if i in right else c.ljust(widths[i]) for i, c in enumerate(line)
        ]
        print("  ".join(cells).rstrip())
    return 1


SUBCOMMANDS = {"record": cmd_record, "diff": cmd_diff, "suspects": cmd_suspects}
