"""``dmabuf-top [options]``: the live TUI, or with ``--once`` one plain-text table."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from dmabuf_top import __version__
from dmabuf_top.analysis.suspects import DEFAULT_WINDOW
from dmabuf_top.cli.options import (
    PROG,
    Parser,
    UsageError,
    add_source_options,
    open_backend,
    positive_float,
)
from dmabuf_top.report import columns


def build_parser() -> Parser:
    p = Parser(
        prog=PROG,
        description="A top for Linux dma-bufs: who holds all that dma-buf memory.",
        epilog="Subcommands: snapshot, record, diff, suspects ('dmabuf-top snapshot --help').",
    )
    p.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    add_source_options(p, many_files=True)
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
        type=positive_float,
        default=2.0,
        metavar="SECONDS",
        help="refresh interval (default 2)",
    )
    p.add_argument("--theme", metavar="NAME", help="colour theme (see themes/)")
    p.add_argument("--suspect-window", metavar="N", type=int, default=DEFAULT_WINDOW,
                   help=f"growth suspects: grew across the last N samples "
                   f"(default {DEFAULT_WINDOW})")
    return p


def run(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    columns.view_columns(args.view)
    if args.sort:
        columns.column(args.view, args.sort)
    if not args.once and args.suspect_window < 2:
        raise UsageError(
            f"--suspect-window must be at least 2 samples, not {args.suspect_window}"
        )
    backend = open_backend(args)
    if args.once:
        from dmabuf_top.report.once import render_table

        snap = backend.collect()
        sys.stdout.write(
            render_table(snap, args.view, args.sort, reverse=args.reverse, raw_bytes=args.bytes)
        )
        return 0
    from dmabuf_top.tui.app import run_tui
    from dmabuf_top.tui.themes import UnknownTheme

    try:
        return run_tui(backend, delay=args.delay, theme=args.theme,
                       suspect_window=args.suspect_window)
    except UnknownTheme as e:
        raise UsageError(str(e)) from None
