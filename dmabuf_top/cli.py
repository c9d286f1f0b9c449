"""Command line: ``dmabuf-top [options]`` and ``dmabuf-top snapshot``.

Every user mistake ends in one line on stderr and a non-zero exit status.
textual and adbutils are imported only on the paths that need them.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .backends.base import Backend

PROG = "dmabuf-top"
DEMO_SNAPSHOT = Path(__file__).parent / "data" / "demo.yaml"


class UsageError(Exception):
    """A user mistake; str() is the one line shown."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def _positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not v > 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0: {text!r}")
    return v


def _add_source_options(p: argparse.ArgumentParser, many_files: bool = False) -> None:
    src = p.add_mutually_exclusive_group()
    if many_files:
        src.add_argument(
            "--load", metavar="FILE", nargs="+",
            help="read a snapshot (or recording) file; several open as one recording, "
            "in time order (step with [ ], change since the first)",
        )
    else:
        src.add_argument("--load", metavar="FILE", help="read a snapshot (or recording) file")
    src.add_argument(
        "--adb",
        nargs="?",
        const="",
        metavar="SERIAL",
        help="an Android device over adb (serial, else $ANDROID_SERIAL, else the only one)",
    )
    src.add_argument("--demo", action="store_true", help="open the bundled demo snapshot")
    p.add_argument("--adb-host", metavar="HOST", help="adb server host (default 127.0.0.1)")
    p.add_argument(
        "--adb-port", metavar="PORT", type=int, help="adb server port ($ANDROID_ADB_SERVER_PORT)"
    )
    p.add_argument("--root", action="store_true", help="adb: restart adbd as root (adb root)")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog=PROG,
        description="A top for Linux dma-bufs: who holds all that dma-buf memory.",
        epilog="Subcommands: snapshot, record, diff, suspects ('dmabuf-top snapshot --help').",
    )
    p.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    _add_source_options(p, many_files=True)
    p.add_argument("--once", action="store_true", help="print one table and exit (no TUI)")
    p.add_argument(
        "--view",
        default="buffers",
        help="--once table: buffers, processes or exporters (default buffers)",
    )
    p.add_argument("--sort", metavar="COLUMN", help="--once: sort by this column")
    p.add_argument("--reverse", action="store_true", help="--once: reverse the sort")
    p.add_argument("--bytes", action="store_true", help="--once: raw byte counts")
    p.add_argument(
        "-d",
        "--delay",
        type=_positive_float,
        default=2.0,
        metavar="SECONDS",
        help="refresh interval (default 2)",
    )
    p.add_argument("--theme", metavar="NAME", help="colour theme (see themes/)")
    p.add_argument("--suspect-window", metavar="N", type=int, default=10,
                   help="growth suspects: grew across the last N samples (default 10)")
    return p


def build_snapshot_parser() -> argparse.ArgumentParser:
    p = _Parser(prog=f"{PROG} snapshot", description="Write one snapshot as YAML.")
    _add_source_options(p)
    p.add_argument("-o", "--output", metavar="FILE", help="write here (atomically); default stdout")
    return p


def open_backend(args: argparse.Namespace) -> Backend:
    """The backend the options name."""
    if args.load is not None or args.demo:
        from .backends.file import FileBackend

        return FileBackend(DEMO_SNAPSHOT if args.demo else args.load)
    if args.adb is not None:
        from .backends.adb import open_adb_backend

        return open_adb_backend(
            serial=args.adb or None,
            host=args.adb_host,
            port=args.adb_port,
            want_root=args.root,
        )
    from .backends.local import LocalBackend

    return LocalBackend()


def cmd_snapshot(argv: Sequence[str]) -> int:
    from .snapshot_io import dump_snapshot, write_atomic

    args = build_snapshot_parser().parse_args(argv)
    if args.output:
        out = Path(args.output)
        if out.is_dir():
            raise UsageError(f"cannot write {out}: is a directory")
        if not out.parent.exists() and str(out.parent):
            raise UsageError(f"cannot write {out}: no such directory {out.parent}")
    snap = open_backend(args).collect()
    text = dump_snapshot(snap)
    if args.output:
        write_atomic(args.output, text)
        print(f"wrote {args.output} ({len(snap.buffers)} buffers)", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def cmd_main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    from . import views

    if args.view not in views.VIEWS:
        raise UsageError(f"unknown view '{args.view}' (choose from: {', '.join(views.VIEWS)})")
    if args.sort:
        views.column(args.view, args.sort)
    backend = open_backend(args)
    if args.once:
        from .tables import render_table

        snap = backend.collect()
        sys.stdout.write(
            render_table(snap, args.view, args.sort, reverse=args.reverse, raw_bytes=args.bytes)
        )
        return 0
    from .tui.app import run_tui

    return run_tui(backend, delay=args.delay, theme=args.theme,
                   suspect_window=args.suspect_window)


SUBCOMMANDS = ("snapshot", "record", "diff", "suspects")


def _subcommand(name: str):
    """The function for a subcommand; record/diff/suspects live in recording.py."""
    if name == "snapshot":
        return cmd_snapshot
    from .recording import SUBCOMMANDS as recording_commands

    return recording_commands[name]


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    from .backends.base import BackendError
    from .snapshot_io import SnapshotError
    from .views import ViewError

    try:
        if argv and argv[0] in SUBCOMMANDS:
            return _subcommand(argv[0])(argv[1:])
        return cmd_main(argv)
    except (UsageError, ViewError) as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    except (SnapshotError, BackendError) as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        except OSError:
            pass
        return 141
