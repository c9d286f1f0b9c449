"""``dmabuf-top suspects FILE|--demo [-w N] [--min-steps K] [--at N] [--format text|yaml|json]``:
what kept growing over the last N samples. Status 0: none, 1: some, 2: error."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from dmabuf_top.analysis.suspects import DEFAULT_WINDOW
from dmabuf_top.cli.options import (
    PROG,
    Parser,
    add_file_argument,
    file_argument,
    positive_int,
    sample_number,
)
from dmabuf_top.cli.samples import SampleFiles, split_spec


def build_parser() -> Parser:
    p = Parser(
        prog=f"{PROG} suspects",
        description=(
            "Growth suspects in a recording: processes, exporters and buffer names "
            "whose bytes or buffer count grew over the last N samples without ever "
            "falling back. Exit status 0: none, 1: some, 2: error."
        ),
    )
    add_file_argument(p, "a recording")
    p.add_argument(
        "-w",
        "--window",
        type=positive_int,
        default=DEFAULT_WINDOW,
        metavar="N",
        help=f"look at the last N samples (default {DEFAULT_WINDOW})",
    )
    p.add_argument(
        "--min-steps",
        type=positive_int,
        metavar="K",
        help="steps of the window that must go up (default: half of them)",
    )
    p.add_argument(
        "--at",
        type=sample_number,
        default=-1,
        metavar="N",
        help="as seen at sample N (default -1, the last)",
    )
    p.add_argument(
        "--format", choices=("text", "yaml", "json"), default="text",
        help="text for people, yaml or json for machines (schema dmabuf-top-suspects/1; "
        "default text)",
    )
    p.add_argument("--bytes", action="store_true", help="raw byte counts")
    return p


def run(argv: Sequence[str]) -> int:
    from dmabuf_top.analysis.lifecycle import suspect_makers
    from dmabuf_top.analysis.suspects import find_suspects
    from dmabuf_top.collect.contract import SamplesUpTo
    from dmabuf_top.io.jsontext import dump_json
    from dmabuf_top.io.yamltext import dump_yaml
    from dmabuf_top.report.suspects_report import render_text, suspects_doc

    args = build_parser().parse_args(argv)
    args.file = file_argument(args)
    snaps, idx, label = SampleFiles().pick(args.file, args.at)
    upto = SamplesUpTo(idx + 1, snaps.__getitem__)  # rebuilt as the suspects ask
    found = find_suspects(upto, window=args.window, min_steps=args.min_steps)
    events = getattr(snaps, "events", None)  # a recording's (io/record_samples.py)
    makers = suspect_makers(found, snaps, idx, events) if events else None
    if args.format in ("yaml", "json"):
        path = split_spec(args.file)[0]
        doc = suspects_doc(found, path, len(upto), len(snaps), args.window, makers)
        sys.stdout.write(dump_yaml(doc) if args.format == "yaml" else dump_json(doc))
    else:
        sys.stdout.write(render_text(
            found, label, snaps[idx], len(upto), len(snaps), args.window, args.bytes, makers
        ))
    return 1 if found else 0

