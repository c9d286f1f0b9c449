"""One error form for every command (issue 25, item 8): each kind of mistake, run
through every subcommand that can make it, is the one line ``dmabuf-top: error: ...``
on stderr, nothing on stdout, and the same exit status: 2 for what the command line
asks (an option, its value, a file it names), 1 for a source failing as it runs."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import pytest

from dmabuf_top.cli import main
from dmabuf_top.cli.dispatch import RUNTIME_STATUS, SUBCOMMANDS, USAGE_STATUS
from dmabuf_top.cli.options import DEMO_RECORDING

#: how each command takes a file: FILE stands for the path (None: it takes none)
TAKES_FILE = {
    "top": ["--once", "--load", "FILE"],
    "snapshot": ["--load", "FILE"],
    "record": None,
    "diff": ["FILE"],
    "suspects": ["FILE"],
    "export": ["FILE", "-o", "OUT/t.json"],
    "serve": ["--load", "FILE", "--listen", "127.0.0.1:0"],
    "events": None,
}
#: an option value each command refuses, and the words that say why
BAD_VALUE = {
    "top": (["--once", "--demo", "--delay", "0"], "must be greater than 0: '0'"),
    "snapshot": (["--demo", "--at", "0"], "samples count from 1 (first) or -1 (last), not 0"),
    "record": (["-o", "OUT/r.yaml", "-i", "-1"], "must be greater than 0: '-1'"),
    "diff": (["--demo", "--from", "x"], "not a sample number: 'x'"),
    "suspects": (["--demo", "-w", "0"], "must be at least 1: '0'"),
    "export": (["--demo", "-o", "OUT/t.json", "--format", "xml"], "invalid choice: 'xml'"),
    "serve": (["--demo", "--listen", "9464"], "expected HOST:PORT, not '9464'"),
    "events": (["--format", "xml"], "invalid choice: 'xml'"),
}
#: how each command reads a device (None: it reads none)
READS_DEVICE = {
    "top": ["--once"],
    "snapshot": [],
    "record": ["-o", "OUT/r.yaml", "-n", "1"],
    "diff": None,
    "suspects": None,
    "export": None,
    "serve": ["--listen", "127.0.0.1:0"],
    "events": None,
}
COMMANDS = ["top", *SUBCOMMANDS]
#: what a command needs besides the mistake (its required options)
REQUIRED = {"record": ["-o", "OUT/r.yaml"], "export": ["--demo", "-o", "OUT/t.json"]}
#: (kind of mistake, what the file holds: None = no file there, "" = a directory)
FILE_MISTAKES = {
    "missing file": (None, "no such file"),
    "a directory": ("", "is a directory"),
    "not YAML": ("schema: [unterminated\n", "invalid YAML (line 2)"),
    "not a snapshot": ("- just a list\n", "not a dmabuf-top snapshot"),
    "not text": ("\udcff", "not UTF-8 text"),
}


@pytest.fixture(autouse=True)
def serve_log_as_it_was():
    """``serve`` run in this process gives its logger a handler of its own (and no
    propagation): put it back for the tests that read that log (caplog)."""
    log = logging.getLogger("dmabuf_top.serve")
    handlers, propagate, level = list(log.handlers), log.propagate, log.level
    yield
    log.handlers[:] = handlers
    log.propagate, log.level = propagate, level


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """(status, the one stderr line); nothing may reach stdout."""
    code = main(argv)
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "Traceback" not in err, (out, err)
    return code, err.rstrip("\n")


def command_line(cmd: str, args: list[str], tmp_path: Path, path: str = "") -> list[str]:
    head = [] if cmd == "top" else [cmd]
    return head + [a.replace("OUT", str(tmp_path)).replace("FILE", path) for a in args]


def test_every_command_is_in_the_tables():
    for table in (TAKES_FILE, BAD_VALUE, READS_DEVICE):  # a new command joins them
        assert sorted(table) == sorted(COMMANDS)


@pytest.mark.parametrize("cmd", COMMANDS)
def test_an_unknown_option(cmd, tmp_path, capsys):
    args = [*REQUIRED.get(cmd, []), "--no-such-option"]
    code, line = run(command_line(cmd, args, tmp_path), capsys)
    assert (code, line) == (
        USAGE_STATUS, "dmabuf-top: error: unrecognized arguments: --no-such-option")


@pytest.mark.parametrize("cmd", COMMANDS)
def test_a_bad_option_value(cmd, tmp_path, capsys):
    args, why = BAD_VALUE[cmd]
    code, line = run(command_line(cmd, args, tmp_path), capsys)
    assert code == USAGE_STATUS and line.startswith("dmabuf-top: error: ") and why in line


@pytest.mark.parametrize("mistake", sorted(FILE_MISTAKES))
@pytest.mark.parametrize("cmd", [c for c in COMMANDS if TAKES_FILE[c] is not None])
def test_a_file_that_cannot_be_read(cmd, mistake, tmp_path, capsys):
    content, why = FILE_MISTAKES[mistake]
    path = tmp_path / "in.yaml"
    if content == "":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content.encode("utf-8", "surrogateescape"))
    code, line = run(command_line(cmd, TAKES_FILE[cmd], tmp_path, str(path)), capsys)
    assert code == USAGE_STATUS and line.startswith(f"dmabuf-top: error: {path}: "), line
    assert why in line


@pytest.fixture(scope="module")
def dead_adb_port() -> int:
    """A port nothing listens on: an adb server that is gone."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("cmd", [c for c in COMMANDS if READS_DEVICE[c] is not None])
def test_a_device_gone(cmd, dead_adb_port, tmp_path, capsys):
    args = ["--adb", "SERIAL", "--adb-port", str(dead_adb_port), *READS_DEVICE[cmd]]
    code, line = run(command_line(cmd, args, tmp_path), capsys)
    assert code == RUNTIME_STATUS, line
    assert line.startswith(f"dmabuf-top: error: no adb server at 127.0.0.1:{dead_adb_port} ")
    assert not list(tmp_path.iterdir())  # nothing written


@pytest.mark.parametrize("cmd", ["diff", "suspects", "export"])
def test_file_or_demo_not_neither_nor_both(cmd, tmp_path, capsys):
    out = ["-o", str(tmp_path / "t.json")] if cmd == "export" else []
    code, line = run([cmd, *out], capsys)
    assert (code, line) == (USAGE_STATUS, "dmabuf-top: error: the following arguments are "
                            f"required: {'A' if cmd == 'diff' else 'FILE'} (or --demo)")
    code, line = run([cmd, "x.yaml", "--demo", *out], capsys)
    assert (code, line) == (
        USAGE_STATUS, f"dmabuf-top: error: give {'A' if cmd == 'diff' else 'FILE'} or --demo, "
        "not both")


@pytest.mark.parametrize("cmd", [c for c in COMMANDS if TAKES_FILE[c] is not None])
def test_help_says_where_the_demo_is(cmd, capsys):
    with pytest.raises(SystemExit) as done:
        main([*([] if cmd == "top" else [cmd]), "--help"])
    assert done.value.code == 0
    assert str(DEMO_RECORDING) in capsys.readouterr().out  # whole, never cut at a hyphen


@pytest.mark.parametrize("cmd", ["diff", "suspects", "export"])
def test_demo_is_the_demo_file(cmd, tmp_path, capsys):
    """``--demo`` reads the bundled recording, as its path given as FILE does."""
    def output(source: str) -> tuple[int, str, str]:
        out = ["-o", str(tmp_path / f"{cmd}.json")] if cmd == "export" else []
        code = main([cmd, source, *out]) if source else main([cmd, "--demo", *out])
        printed = capsys.readouterr()
        written = (tmp_path / f"{cmd}.json").read_text() if out else ""
        return code, printed.out + printed.err, written

    demo = output("")
    assert demo == output(str(DEMO_RECORDING))
    assert demo[0] == (0 if cmd == "export" else 1)  # the demo grows: changes, suspects
