"""What a device says reaches stderr escaped (issue 21 item 10), through a REAL adb
server and tests/support/adbpeer.py: an adbd whose refusal of ``adb root`` holds a
terminal title escape, a bidi override and a literal ``\\e`` is one printable line."""

from __future__ import annotations

import os

import pytest

from tests.support.adb_harness import SHELL_UID, AdbServer, HostPeer

ANSWER = "\x1b]0;pwned\x07no \u202eroot \\e[1m"


@pytest.mark.skipif(os.geteuid() != 0, reason="drops privileges: needs root")
def test_adb_roots_answer_is_escaped_on_stderr(server: AdbServer) -> None:
    p = HostPeer("--uid", str(SHELL_UID), "--root-answer", ANSWER)
    try:
        server.connect(p.serial)
        r = server.dmabuf_top("snapshot", "--adb", p.serial, "--root")
    finally:
        p.kill()
        server.disconnect(p.serial)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    for raw in ("\x1b", "\x07", "\u202e"):
        assert raw not in r.stderr
    assert r.stderr == (
        f"dmabuf-top: error: {p.serial}: adb root: \\e]0;pwned\\x07no \\u202eroot \\\\e[1m\n")
