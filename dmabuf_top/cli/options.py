"""Command-line pieces every subcommand shares: the parser, UsageError, the source
options and the backend they name, argument types, the output-path check."""

from __future__ import annotations

import argparse
import signal
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

from dmabuf_top.collect.contract import Backend
from dmabuf_top.textsafe import shown_line

PROG = "dmabuf-top"
DEMO_RECORDING = Path(__file__).resolve().parent.parent / "data" / "demo.yaml"
#: what every --help says of --demo: what the demo is, and where it is installed
DEMO_HELP = f"the bundled demo recording (a desktop on a real 6.18 kernel): {DEMO_RECORDING}"


def warn(notes: list[str]) -> None:
    """Each note (what a cut recording left out) as a one-line warning on stderr."""
    for note in notes:
        print(f"{PROG}: warning: {shown_line(note)}", file=sys.stderr)


class UsageError(Exception):
    """A user mistake; str() is the one line shown."""


class Stopped(Exception):
    """SIGTERM arrived (see :func:`sigterm_stops`)."""


def _raise_stopped(signum: int, frame: FrameType | None) -> None:
    raise Stopped


@contextmanager
def sigterm_stops() -> Iterator[None]:
    """Inside, SIGTERM raises :class:`Stopped` (a long-running command ends as on
    ctrl+c); the old handler is back afterwards."""
    old = signal.signal(signal.SIGTERM, _raise_stopped)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def _split_at_spaces(self: argparse.HelpFormatter, text: str, width: int) -> list[str]:
    """An option's help wrapped at spaces only: a path (the demo's) stays whole."""
    return textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False,
                         break_long_words=False)


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are :class:`UsageError` (one line, status 2) and
    whose help never breaks a word (a path) at a hyphen."""

    def __init__(self, *args: Any,
                 formatter_class: type[argparse.HelpFormatter] = argparse.HelpFormatter,
                 **kwargs: Any) -> None:
        whole = type("WholeWords", (formatter_class,), {"_split_lines": _split_at_spaces})
        super().__init__(*args, formatter_class=whole, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not v > 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0: {text!r}")
    return v


def positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return v


def sample_number(text: str) -> int:
    """A sample of a recording: 1 = first, -1 = last (never 0)."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a sample number: {text!r}") from None
    if v == 0:
        raise argparse.ArgumentTypeError("samples count from 1 (first) or -1 (last), not 0")
    return v


def sample_index(n: int, count: int, where: str) -> int:
    """The 0-based index of sample ``n`` (1 = first, -1 = last) of ``count``;
    UsageError naming ``where`` when there is no such sample."""
    if not (1 <= n <= count or -count <= n <= -1):
        raise UsageError(
            f"{where}: no sample {n} (it has {count}: 1..{count}, or -1..-{count} from the end)"
        )
    return n - 1 if n > 0 else count + n


def add_at_option(p: argparse.ArgumentParser) -> None:
    """``--at N``: which sample of a loaded recording (default -1, the last)."""
    p.add_argument(
        "--at", type=sample_number, metavar="N",
        help="with --load: sample N of a recording (1 = first, -1 = last, -2 the one "
        "before, as in 'diff FILE@N'; default -1, the last)",
    )


def add_file_argument(p: argparse.ArgumentParser, help: str, dest: str = "file",
                      metavar: str = "FILE") -> None:
    """A positional file, or ``--demo`` in its place (the bundled demo recording);
    :func:`file_argument` reads which."""
    p.add_argument(dest, metavar=metavar, nargs="?", help=f"{help} (or --demo)")
    p.add_argument("--demo", action="store_true", help=f"{metavar} is {DEMO_HELP}")


def file_argument(args: argparse.Namespace, dest: str = "file", metavar: str = "FILE") -> str:
    """The file :func:`add_file_argument` took: the one given, or the demo's path."""
    given = getattr(args, dest)
    if args.demo and given is not None:
        raise UsageError(f"give {metavar} or --demo, not both")
    if args.demo:
        return str(DEMO_RECORDING)
    if given is None:
        raise UsageError(f"the following arguments are required: {metavar} (or --demo)")
    return str(given)


def check_output_path(path: str | Path) -> Path:
    """``path`` as a file we may write: not a directory, in a directory that exists."""
    out = Path(path)
    if out.is_dir():
        raise UsageError(f"cannot write {out}: is a directory")
    if str(out.parent) and not out.parent.is_dir():
        raise UsageError(f"cannot write {out}: no such directory {out.parent}")
    return out


def add_source_options(
    p: argparse.ArgumentParser, many_files: bool = False, many_devices: bool = False
) -> None:
    """--load / --adb / --demo and the adb server options; ``many_devices``: --adb may
    be given several times (a list of serials, "" for the only device)."""
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
        action="append" if many_devices else "store",
        metavar="SERIAL",
        help="an Android device over adb (serial, else $ANDROID_SERIAL, else the only one)"
        + ("; give it once per device" if many_devices else ""),
    )
    src.add_argument("--demo", action="store_true", help=f"open {DEMO_HELP}")
    p.add_argument("--adb-host", metavar="HOST", help="adb server host (default 127.0.0.1)")
    p.add_argument(
        "--adb-port", metavar="PORT", type=int, help="adb server port ($ANDROID_ADB_SERVER_PORT)"
    )
    p.add_argument("--root", action="store_true", help="adb: restart adbd as root (adb root)")
    p.add_argument(
        "--source",
        choices=("auto", "proc", "bpf"),
        default="auto",
        help="local scan: bpf = the kernel's BPF iterators (6.16+, root or CAP_BPF+CAP_PERFMON,"
        " BTF), proc = walk /proc; auto (default): bpf when it loads, else proc",
    )
    p.add_argument(
        "--walker",
        choices=("native", "python"),
        default="native",
        help="who walks /proc (local scan): native (default) = the shipped collector, in"
        " Python when it cannot run (a warning says why); python = in Python",
    )


def open_backend(args: argparse.Namespace) -> Backend:
    """The backend the source options name (files are loaded here). A recording
    opens at sample ``--at`` for the commands that have it (default the last),
    else at its first (``serve`` replays it from there)."""
    source, walker = getattr(args, "source", "auto"), getattr(args, "walker", "native")
    local_only = [f"--source {source}"] * (source != "auto") + [f"--walker {walker}"] * (
        walker != "native")
    if local_only and (args.load is not None or args.demo or args.adb is not None):
        raise UsageError(f"{local_only[0]} is how to scan this machine: not with --load, "
                         "--demo or --adb")
    at = getattr(args, "at", None)
    first = -1 if hasattr(args, "at") else 1
    if args.load is not None or args.demo:
        from dmabuf_top.collect.file import FileBackend
        from dmabuf_top.io.loader import load_files

        paths = [DEMO_RECORDING] if args.demo else args.load
        paths = [paths] if isinstance(paths, str) else paths
        dropped: list[str] = []
        samples = load_files(paths, dropped)
        warn(dropped)
        where = str(paths[0]) if len(paths) == 1 else "the files loaded"
        index = sample_index(first if at is None else at, len(samples), where)
        return FileBackend(samples, at=index, notes=dropped)
    if at is not None:
        raise UsageError("--at picks a sample of a recording: use it with --load FILE")
    if args.adb is not None:
        from dmabuf_top.collect.adb import open_adb_backend

        return open_adb_backend(
            serial=args.adb or None,
            host=args.adb_host,
            port=args.adb_port,
            want_root=args.root,
        )
    from dmabuf_top.collect.local import LocalBackend

    return LocalBackend(source=source, walker=walker)


def open_backends(args: argparse.Namespace) -> list[Backend]:
    """Every backend the source options name: one per ``--adb`` when it may be given
    several times (see ``add_source_options(many_devices=True)``), else one."""
    if not isinstance(args.adb, list):
        return [open_backend(args)]
    serials = [s for s in args.adb if s]
    if len(set(serials)) != len(serials):
        raise UsageError("the same --adb SERIAL is given twice")
    if len(args.adb) > 1 and len(serials) != len(args.adb):
        raise UsageError("with several --adb, name each device: --adb SERIAL")
    backends = []
    for serial in args.adb:
        one = argparse.Namespace(**{**vars(args), "adb": serial})
        backends.append(open_backend(one))
    return backends
