"""``dmabuf-top export FILE|--demo -o OUT [--format perfetto|chrome-json]``: a recording as a
trace to open next to a system trace (Perfetto UI, chrome://tracing); written
atomically."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from dmabuf_top.cli.options import (
    PROG,
    Parser,
    UsageError,
    add_file_argument,
    check_output_path,
    file_argument,
    warn,
)

FORMATS = ("perfetto", "chrome-json")
#: the format a file name's ending implies
BY_SUFFIX = {".pftrace": "perfetto", ".perfetto-trace": "perfetto", ".json": "chrome-json"}


def build_parser() -> Parser:
    p = Parser(
        prog=f"{PROG} export",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "A recording (or snapshots) as a trace with counter tracks at the samples'\n"
            "times: the total, buffer count and kernel-only bytes, bytes per exporter,\n"
            "and Rss/Pss per process (under the process's pid, as in a system trace)."
        ),
        epilog=(
            "Examples:\n"
            "  dmabuf-top export rec.yaml -o rec.pftrace        # open in ui.perfetto.dev\n"
            "  dmabuf-top export rec.yaml.gz -o rec.json        # Chrome trace event JSON\n"
            "  dmabuf-top export rec.yaml -o out.trace --format perfetto\n"
            "  dmabuf-top export --demo -o demo.pftrace         # the bundled demo"
        ),
    )
    add_file_argument(p, "a recording or snapshot file (.gz too)")
    p.add_argument("-o", "--output", metavar="OUT", required=True, help="the trace to write")
    p.add_argument(
        "--format", choices=FORMATS,
        help="perfetto (protobuf; the default for .pftrace) or chrome-json (the default "
        "for .json)",
    )
    return p


def run(argv: Sequence[str]) -> int:
    from dmabuf_top.io.atomic import write_atomic
    from dmabuf_top.io.jsontext import dump_json
    from dmabuf_top.io.loader import load_snapshots
    from dmabuf_top.report.counters import CounterError
    from dmabuf_top.report.trace_export import chrome_trace, perfetto_trace

    args = build_parser().parse_args(argv)
    args.file = file_argument(args)
    out = check_output_path(args.output)
    fmt = args.format or BY_SUFFIX.get(out.suffix.lower())
    if fmt is None:
        raise UsageError(
            f"cannot tell the format from {out.name}: give --format ({', '.join(FORMATS)})"
        )
    dropped: list[str] = []
    samples = load_snapshots(args.file, dropped)
    warn(dropped)
    try:
        if fmt == "perfetto":
            events = getattr(samples, "events", ())  # a recording's (io/record_samples.py)
            data: str | bytes = perfetto_trace(samples, events)
        else:
            data = dump_json(chrome_trace(samples), compact=True)
    except CounterError as e:
        raise UsageError(f"{args.file}: {e}") from None
    write_atomic(out, data)
    size = len(data)
    print(f"wrote {out} ({fmt}, {len(samples)} samples, {size} bytes)", file=sys.stderr)
    return 0
