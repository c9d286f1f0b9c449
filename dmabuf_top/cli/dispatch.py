"""``main()``: picks the subcommand, turns every mistake into the one error line on
stderr (``dmabuf-top: error: WHAT``, :func:`fail`) and an exit status: 2 for what the
command line asks (an option, its value, a file it names that is missing, unreadable or
not a snapshot, an output that cannot be written), 1 for a source failing while it runs
(a device gone, no adb server, BPF refused), 130 interrupted, 141 broken pipe."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence

from dmabuf_top.cli.options import PROG, UsageError

#: the exit status of a mistake in what the command line asks (argparse's)
USAGE_STATUS = 2
#: the exit status of a source that fails while it runs
RUNTIME_STATUS = 1

#: the subcommands; each is a module of dmabuf_top.cli with ``run(argv) -> int``
SUBCOMMANDS = ("snapshot", "record", "diff", "suspects", "export", "serve", "events")


def command(name: str | None) -> Callable[[Sequence[str]], int]:
    """The ``run`` of a subcommand (None: the main command), imported when used, so
    a headless command never loads the TUI."""
    if name == "snapshot":
        from dmabuf_top.cli import snapshot as module
    elif name == "record":
        from dmabuf_top.cli import record as module
    elif name == "diff":
        from dmabuf_top.cli import diff as module
    elif name == "suspects":
        from dmabuf_top.cli import suspects as module
    elif name == "export":
        from dmabuf_top.cli import export as module
    elif name == "serve":
        from dmabuf_top.cli import serve as module
    elif name == "events":
        from dmabuf_top.cli import events as module
    else:
        from dmabuf_top.cli import top as module
    return module.run


def fail(message: str, status: int) -> int:
    """Write the one error line every command uses (``dmabuf-top: error: MESSAGE``,
    shown literally) to stderr; returns ``status``."""
    from dmabuf_top.textsafe import shown_line

    print(f"{PROG}: error: {shown_line(message)}", file=sys.stderr)
    return status


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    from dmabuf_top.collect.contract import BackendError
    from dmabuf_top.io.errors import SnapshotError
    from dmabuf_top.report.columns import ViewError

    try:
        if argv and argv[0] in SUBCOMMANDS:
            return command(argv[0])(argv[1:])
        return command(None)(argv)
    except (UsageError, ViewError, SnapshotError) as e:
        return fail(str(e), USAGE_STATUS)
    except BackendError as e:
        return fail(str(e), RUNTIME_STATUS)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        except OSError:
            pass
        return 141
