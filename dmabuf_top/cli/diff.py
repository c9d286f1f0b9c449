"""``dmabuf-top diff A [B] | --demo [--from N] [--to N] [--format text|yaml|json] [--bytes]``: what
changed between two snapshots or samples. Status 0: no change, 1: changes, 2: error."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from dmabuf_top.cli.options import (
    PROG,
    Parser,
    UsageError,
    add_file_argument,
    file_argument,
    sample_number,
)
from dmabuf_top.cli.samples import SampleFiles, split_spec


def build_parser() -> Parser:
    p = Parser(
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
            "With one file, B is the same file: 'diff rec.yaml' = first vs last sample; "
            "'diff --demo' = the same of the bundled demo recording."
        ),
    )
    add_file_argument(p, "FILE or FILE@N", dest="a", metavar="A")
    p.add_argument("b", metavar="B", nargs="?", help="FILE or FILE@N (default: A's file)")
    p.add_argument(
        "--from", dest="from_", type=sample_number, default=1, metavar="N",
        help="sample of a recording A without @N (default 1, the first)",
    )
    p.add_argument(
        "--to", type=sample_number, default=-1, metavar="N",
        help="sample of a recording B without @N (default -1, the last)",
    )
    p.add_argument(
        "--format", choices=("text", "yaml", "json"), default="text",
        help="text for people, yaml or json for machines (schema dmabuf-top-diff/1; "
        "bytes as integers; default text)",
    )
    p.add_argument("--bytes", action="store_true", help="raw byte counts")
    return p


def run(argv: Sequence[str]) -> int:
    from dmabuf_top.analysis.diff import diff_snapshots
    from dmabuf_top.io.jsontext import dump_json
    from dmabuf_top.io.yamltext import dump_yaml
    from dmabuf_top.report.diff_report import diff_to_dict, render_text

    args = build_parser().parse_args(argv)
    if args.demo and args.b is not None:
        raise UsageError("--demo is A and B (its samples --from and --to): no B")
    args.a = file_argument(args, "a", "A")
    files = SampleFiles()
    a_snaps, a_idx, a_label = files.pick(args.a, args.from_)
    b_spec = args.b if args.b is not None else split_spec(args.a)[0]
    b_snaps, b_idx, b_label = files.pick(b_spec, args.to)
    d = diff_snapshots(a_snaps[a_idx], b_snaps[b_idx], a_label, b_label)
    if args.format == "yaml":
        sys.stdout.write(dump_yaml(diff_to_dict(d)))
    elif args.format == "json":
        sys.stdout.write(dump_json(diff_to_dict(d)))
    else:
        sys.stdout.write(render_text(d, raw_bytes=args.bytes))
    return 1 if d.has_changes else 0
