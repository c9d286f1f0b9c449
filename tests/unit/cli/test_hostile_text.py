"""Untrusted text on every output path of the command line (issue 21 items 10, 11): a
name, comm or path holding an ESC sequence, a literal ``\\e[31m``, a bidi override, a
zero-width space and an Arabic letter mark reaches stdout (YAML, --once text) and stderr
(errors, serve's log) escaped and unambiguous; YAML keeps it as YAML escapes and reads
back the same with the fast reader and both PyYAML loaders."""

from __future__ import annotations

import logging

import yaml

from dmabuf_top.cli import main
from dmabuf_top.io.codec import dump_snapshot
from dmabuf_top.io.yaml_parse import parse
from dmabuf_top.textsafe import printable
from tests.support.pilot import small_snapshot

HOSTILE = "lit\\e[31m \u202eevil\u200b\u061c\x1b[2J"
RAW = ("\x1b", "\u202e", "\u200b", "\u061c")


def hostile_file(tmp_path):
    snap = small_snapshot()
    snap.buffers[13].name = HOSTILE
    snap.processes[412].comm = HOSTILE
    path = tmp_path / "hostile.yaml"
    path.write_text(dump_snapshot(snap))
    return path


def assert_no_raw(text: str) -> None:
    for ch in RAW:
        assert ch not in text, repr(ch)


def test_yaml_on_stdout_is_escaped_and_reads_back_the_same(tmp_path, capsys):
    path = hostile_file(tmp_path)
    assert main(["snapshot", "--load", str(path)]) == 0
    out = capsys.readouterr().out
    assert_no_raw(out)
    assert 'name: "lit\\\\e[31m \\u202Eevil\\u200B\\u061C\\e[2J"' in out
    fast = parse(out)
    assert fast == yaml.load(out, Loader=yaml.SafeLoader) == yaml.load(out, Loader=yaml.CSafeLoader)
    names = {b["inode"]: b["name"] for b in fast["buffers"]}
    assert names[13] == HOSTILE


def test_once_text_is_escaped(tmp_path, capsys):
    path = hostile_file(tmp_path)
    assert main(["--load", str(path), "--once", "--sort", "inode"]) == 0
    out = capsys.readouterr().out
    assert_no_raw(out)
    assert printable(HOSTILE) in out and "lit\\\\e[31m \\u202eevil" in out


def test_an_error_on_stderr_is_one_escaped_line(tmp_path, capsys):
    bad = tmp_path / f"no-{HOSTILE}.yaml"
    assert main(["--load", str(bad)]) == 2
    err = capsys.readouterr().err
    assert_no_raw(err)
    assert err.count("\n") == 1 and "\\u202e" in err


def test_serves_log_lines_are_escaped() -> None:
    """A device's words (its serial, an adb server's error text) in serve's log."""
    from dmabuf_top.cli.serve import ShownFormatter

    record = logging.LogRecord("dmabuf_top.serve", logging.WARNING, __file__, 1,
                               "%s: scan failed: %s", (HOSTILE, "adb: \x1b]0;pwned\x07"), None)
    line = ShownFormatter("%(message)s").format(record)
    assert_no_raw(line)
    assert line == printable(f"{HOSTILE}: scan failed: adb: \x1b]0;pwned\x07")
