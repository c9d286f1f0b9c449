"""``dmabuf-top [options]``: the live TUI, or with ``--once`` one plain-text table."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from dmabuf_top import __version__
from dmabuf_top.analysis.suspects import DEFAULT_WINDOW
from dmabuf_top.cli.options import (
    PROG,
    Parser,
    UsageError,
    add_at_option,
    add_source_options,
    open_backend,
    positive_float,
)
from dmabuf_top.collect.contract import Backend
from dmabuf_top.report import columns, dmabuf_dump


def build_parser() -> Parser:
    p = Parser(
        prog=PROG,
        description="A top for Linux dma-bufs: who holds all that dma-buf memory.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "Subcommands: snapshot, record, diff, suspects, export, serve "
            "('dmabuf-top serve --help').\n\n"
            "Examples:\n"
            "  dmabuf-top --once --view processes --format csv > procs.csv\n"
            "  dmabuf-top --once --format json --adb SERIAL | jq '.rows[0]'\n"
            "  dmabuf-top --dmabuf-dump --adb SERIAL      # as dmabuf_dump prints it\n"
            "  dmabuf-top --dmabuf-dump=a --load snap.yaml  # dmabuf_dump -a\n\n"
            "The TUI keeps its theme, view, sorts, columns, interval and units in\n"
            "$XDG_CONFIG_HOME/dmabuf-top/config.yaml (default ~/.config); -d and\n"
            "--theme win over it."
        ),
    )
    p.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    add_source_options(p, many_files=True)
    add_at_option(p)
    p.add_argument("--once", action="store_true", help="print one table and exit (no TUI)")
    p.add_argument(
        "--format", choices=("text", "csv", "json"), default="text",
        help="--once table as text (default), csv (raw bytes) or json (the snapshot "
        "schema's field names); csv and json imply --once",
    )
    p.add_argument(
        "--dmabuf-dump", nargs="?", const="p", choices=dmabuf_dump.VIEWS, metavar="VIEW",
        help="print what Android's dmabuf_dump prints (kB): per process (no VIEW), "
        "a (dmabuf_dump -a: buffer x process), b (-b: per buffer and exporter), ab; "
        "implies --once",
    )
    p.add_argument(
        "--view",
        default="buffers",
        help="--once table: buffers, processes, exporters or apps (default buffers)",
    )
    p.add_argument("--sort", metavar="COLUMN", help="--once: sort by this column")
    p.add_argument("--reverse", action="store_true", help="--once: reverse the sort")
    p.add_argument("--bytes", action="store_true", help="--once: raw byte counts")
    p.add_argument(
        "-d",
        "--delay",
        type=positive_float,
        metavar="SECONDS",
        help="refresh interval (default: the settings file's, else 2)",
    )
    p.add_argument("--theme", metavar="NAME",
                   help="colour theme (see themes/; default: the settings file's)")
    p.add_argument("--suspect-window", metavar="N", type=int, default=DEFAULT_WINDOW,
                   help=f"growth suspects: grew across the last N samples "
                   f"(default {DEFAULT_WINDOW})")
    return p


def once_output(backend: Backend, args: argparse.Namespace) -> str:
    """What ``--once`` prints of ``backend``'s sample: the table as text, csv or json,
    or dmabuf_dump's layout."""
    snap = backend.collect()
    if args.dmabuf_dump is not None:
        return dmabuf_dump.render_dump(snap, args.dmabuf_dump)
    if args.format == "csv":
        from dmabuf_top.report.once_data import render_csv

        return render_csv(snap, args.view, args.sort, reverse=args.reverse)
    if args.format == "json":
        from dmabuf_top.io.jsontext import dump_json
        from dmabuf_top.report.once_data import table_doc

        return dump_json(table_doc(snap, args.view, args.sort, reverse=args.reverse))
    from dmabuf_top.collect.file import FileBackend
    from dmabuf_top.collect.selfstats import CostMeter
    from dmabuf_top.report.once import FileSample, render_table

    sample = None
    if isinstance(backend, FileBackend):
        sample = FileSample(str(backend.path), backend.index, backend.sample_count)
    cost = CostMeter.since_start().read()  # this whole run: start-up, scan, accounting
    return render_table(snap, args.view, args.sort, reverse=args.reverse,
                        raw_bytes=args.bytes, cost=cost, sample=sample)


def run(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    if args.dmabuf_dump is not None and args.format != "text":
        raise UsageError("--dmabuf-dump prints dmabuf_dump's own text layout: no --format")
    args.once = args.once or args.format != "text" or args.dmabuf_dump is not None
    columns.view_columns(args.view)
    if args.sort:
        columns.column(args.view, args.sort)
    if not args.once and args.suspect_window < 2:
        raise UsageError(
            f"--suspect-window must be at least 2 samples, not {args.suspect_window}"
        )
    backend = open_backend(args)
    if args.once:
        sys.stdout.write(once_output(backend, args))
        return 0
    from dmabuf_top.collect.bpf_events import start_event_source
    from dmabuf_top.collect.local import LocalBackend
    from dmabuf_top.tui.app import run_tui
    from dmabuf_top.tui.themes import UnknownTheme

    # this machine's dma-buf events, for the buffer pane (a note says why when not)
    events = start_event_source() if isinstance(backend, LocalBackend) else (None, "")
    try:
        return run_tui(backend, delay=args.delay, theme=args.theme,
                       suspect_window=args.suspect_window, events=events)
    except UnknownTheme as e:
        raise UsageError(str(e)) from None
    finally:
        if events[0] is not None:
            events[0].close()
