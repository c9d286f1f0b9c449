"""``dmabuf-top snapshot [-o FILE]``: one scan written as a YAML snapshot."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from dmabuf_top.cli.options import (
    PROG,
    Parser,
    add_at_option,
    add_source_options,
    check_output_path,
    open_backend,
)


def build_parser() -> Parser:
    p = Parser(prog=f"{PROG} snapshot", description="Write one snapshot as YAML.")
    add_source_options(p)
    add_at_option(p)
    p.add_argument("-o", "--output", metavar="FILE", help="write here (atomically); default stdout")
    return p


def run(argv: Sequence[str]) -> int:
    from dmabuf_top.io.atomic import write_atomic
    from dmabuf_top.io.codec import dump_snapshot

    args = build_parser().parse_args(argv)
    if args.output:
        check_output_path(args.output)
    snap = open_backend(args).collect()
    text = dump_snapshot(snap)
    if args.output:
        write_atomic(args.output, text)
        print(f"wrote {args.output} ({len(snap.buffers)} buffers)", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
