"""``dmabuf-top serve [--listen HOST:PORT] [--min-interval S] [--top N] [source]``: a
Prometheus exporter. Each scrape of /metrics scans (at most once per --min-interval;
scrapes in between get the last result) and answers with the metrics of
:mod:`dmabuf_top.report.prometheus`. A lost device is ``dmabuf_up 0`` and a log line,
never a dead server; SIGTERM or ctrl+c stop it."""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from dmabuf_top.cli.options import (
    PROG,
    Parser,
    Stopped,
    UsageError,
    add_source_options,
    open_backends,
    positive_float,
    positive_int,
    sigterm_stops,
)
from dmabuf_top.textsafe import shown_line

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from dmabuf_top.collect.bpf_events import EventSource
    from dmabuf_top.collect.contract import Backend
    from dmabuf_top.collect.poller import DeviceScan

DEFAULT_LISTEN = "127.0.0.1:9464"


def listen_address(text: str) -> tuple[str, int]:
    """``HOST:PORT``, ``[::1]:PORT`` or ``:PORT`` (all addresses) -> (host, port)."""
    host, sep, port = text.rpartition(":")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, not {text!r}")
    host = host.strip("[]") or "0.0.0.0"
    try:
        number = int(port)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port: {port!r}") from None
    if not 0 <= number < 65536:
        raise argparse.ArgumentTypeError(f"port out of range: {number}")
    return host, number


def build_parser() -> Parser:
    p = Parser(
        prog=f"{PROG} serve",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "A Prometheus exporter: /metrics has the dma-buf totals, bytes per exporter,\n"
            "Rss/Pss per process (the top N by Rss, and an 'other' series), the scans'\n"
            "duration and errors, dmabuf_up and dmabuf_device_info (model, kernel...) per\n"
            "device, and dmabuf-top's own CPU and memory. A scrape scans at most once per\n"
            "--min-interval. Rules, alerts and a Grafana dashboard: contrib/ in the source."
        ),
        epilog=(
            "Examples:\n"
            "  dmabuf-top serve                       # this machine, 127.0.0.1:9464\n"
            "  dmabuf-top serve --adb R5CT1 --adb emulator-5554 --listen :9464\n"
            "  dmabuf-top serve --load rec.yaml       # replays a recording, a sample a scan\n"
            "  curl -s 127.0.0.1:9464/metrics | grep ^dmabuf_bytes"
        ),
    )
    add_source_options(p, many_devices=True)
    p.add_argument(
        "--listen", type=listen_address, default=listen_address(DEFAULT_LISTEN),
        metavar="HOST:PORT", help=f"where to serve /metrics (default {DEFAULT_LISTEN}; "
        "port 0: any free port)",
    )
    p.add_argument(
        "--min-interval", type=positive_float, default=2.0, metavar="S",
        help="scan at most once per S seconds; scrapes in between get the last scan "
        "(default 2)",
    )
    p.add_argument(
        "--top", type=positive_int, default=50, metavar="N",
        help="per-process series for the N processes with the most Rss (default 50)",
    )
    return p


class ShownFormatter(logging.Formatter):
    """Log lines through :func:`shown_line`: a device's or server's words never reach
    the terminal (or a log file) as controls."""

    def format(self, record: logging.LogRecord) -> str:
        return shown_line(super().format(record))


def run(argv: Sequence[str]) -> int:
    from prometheus_client import CollectorRegistry

    from dmabuf_top.cli.serve_http import MetricsServer, is_loopback
    from dmabuf_top.collect.poller import CachedScanner
    from dmabuf_top.collect.selfstats import tool_usage
    from dmabuf_top.report.prometheus import SnapshotCollector

    args = build_parser().parse_args(argv)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(ShownFormatter(f"%(asctime)s {PROG} serve: %(message)s"))
    log = logging.getLogger("dmabuf_top.serve")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    backends = open_backends(args)
    scanner = CachedScanner(backends, args.min_interval)
    first = scanner.scans()  # the first scan: labels, and a warm cache
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(scanner.scans, tool_usage, args.top))
    events = _event_counters(registry, backends, first)
    host, port = args.listen
    try:
        server = MetricsServer(registry, host, port)
    except OSError as e:
        scanner.close()
        # create_server puts the address in strerror; a name lookup's has only its own
        reason = e.strerror if isinstance(e, socket.gaierror) or not e.errno else (
            os.strerror(e.errno))
        raise UsageError(f"cannot listen on {host}:{port}: {reason}") from None
    server.start()
    shown = f"[{host}]" if ":" in host else host
    if not is_loopback(host):
        print(f"{PROG} serve: warning: listening on {shown}:{server.port}, beyond loopback: "
              "anyone who can reach it reads every dma-buf holder's comm, pid and user",
              file=sys.stderr, flush=True)
    devices = ", ".join(f"{s.device} ({'up' if s.up else 'down'})" for s in first)
    print(shown_line(f"{PROG} serve: http://{shown}:{server.port}/metrics  {devices}"),
          file=sys.stderr,
          flush=True)
    stop = threading.Event()
    try:
        with sigterm_stops():
            while not stop.wait(3600):
                pass
    except (KeyboardInterrupt, Stopped):
        pass
    finally:
        server.stop()
        scanner.close()
        if events is not None:
            events.close()
    return 0


def _event_counters(registry: CollectorRegistry, backends: list[Backend],
                    first: list[DeviceScan]) -> EventSource | None:
    """Serve the export/release counters of this machine's event source when the one
    device is this machine and the source runs here (else one log line says why)."""
    from dmabuf_top.collect.bpf_events import start_event_source
    from dmabuf_top.collect.local import LocalBackend
    from dmabuf_top.report.prometheus_events import EventCollector

    if len(backends) != 1 or not isinstance(backends[0], LocalBackend):
        return None
    source, why = start_event_source()
    if source is None:
        print(f"{PROG} serve: dma-buf event counters not served: {why}", file=sys.stderr)
        return None
    registry.register(EventCollector(lambda: (source.take(), source.lost), first[0].device))
    return source
