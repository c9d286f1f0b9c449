"""Bounds on what a device sends (issue 21, item 3), over a REAL adb server: the device
side is the ADB peer whose ``gzip`` (first on its PATH) answers the collector with a gzip
bomb (1 GiB of zeros in 1 MiB) or an endless stream. ``snapshot`` ends in one line and a
non-zero exit with its peak memory bounded; ``serve`` reports the failed scan and answers."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from dmabuf_top.collect.adb_stream import MAX_OUTPUT_MIB
from tests.support.adb_harness import AdbServer, HostPeer
from tests.support.fuzz import gzip_bomb
from tests.support.paths import REPO
from tests.support.serve_harness import Exporter, value, wait_for

#: the fake gzip: the set-up's probe (``echo x | gzip``) gets a real gzip, the
#: collector's output is swallowed and answered with REPLY
FAKE_GZIP = """#!/bin/sh
n=$(wc -c)
if [ "$n" -le 2 ]; then exec {gzip} -1 -c </dev/null; fi
exec {reply}
"""
#: peak memory allowed to dmabuf-top: the cap, the interpreter, the parse of nothing
PEAK_LIMIT_MIB = MAX_OUTPUT_MIB + 200


@pytest.fixture(scope="module")
def bomb(tmp_path_factory) -> Path:
    return gzip_bomb(tmp_path_factory.mktemp("bomb") / "bomb.gz")


def device(server: AdbServer, tmp: Path, reply: str) -> HostPeer:
    bin_dir = tmp / "bin"
    bin_dir.mkdir()
    gzip = bin_dir / "gzip"
    gzip.write_text(FAKE_GZIP.format(gzip=shutil.which("gzip"), reply=reply))
    gzip.chmod(0o755)
    p = HostPeer("--path-prefix", str(bin_dir))
    server.connect(p.serial)
    return p


@pytest.fixture(params=["bomb", "endless"])
def hostile(request, server: AdbServer, tmp_path: Path, bomb: Path) -> Iterator:
    reply = f"cat {bomb}" if request.param == "bomb" else "cat /dev/zero"
    p = device(server, tmp_path, reply)
    try:
        yield request.param, p
    finally:
        p.kill()
        server.disconnect(p.serial)


def expected(kind: str) -> str:
    shown = " (decompressed)" if kind == "bomb" else ""
    return f"device output exceeds {MAX_OUTPUT_MIB} MiB{shown}: refusing"


#: runs ARGV, then prints its peak RSS (KiB) as a last stderr line (the one child it waits for)
PEAK_RSS = """import resource, subprocess, sys
rc = subprocess.run(sys.argv[1:]).returncode
print("peak_rss_kib", resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)
sys.exit(rc)
"""


def run_measured(server: AdbServer, *args: str) -> tuple[int, str, list[str], int]:
    """``dmabuf-top ARGS``: exit status, stdout, stderr lines and peak RSS in MiB."""
    p = subprocess.run(
        [sys.executable, "-c", PEAK_RSS, sys.executable, "-m", "dmabuf_top", *args],
        env=server.env, capture_output=True, text=True, timeout=180, cwd=str(REPO),
    )
    *lines, last = p.stderr.splitlines()
    word, kib = last.split()
    assert word == "peak_rss_kib"
    return p.returncode, p.stdout, lines, int(kib) >> 10


def test_snapshot_ends_in_one_line_with_bounded_memory(server, hostile):
    kind, peer = hostile
    rc, out, err, peak_mib = run_measured(server, "snapshot", "--adb", peer.serial)
    assert rc != 0
    assert out == ""
    assert err == [f"dmabuf-top: error: device {peer.serial}: {expected(kind)}"]
    assert peak_mib < PEAK_LIMIT_MIB, f"peak RSS {peak_mib} MiB"


def test_serve_reports_the_failed_scan_and_stays_up(server, hostile):
    kind, peer = hostile
    exporter = Exporter("--adb", peer.serial, "--min-interval", "0.2", env=server.env,
                        timeout=180)
    try:
        assert expected(kind) in exporter.wait_log("scan failed", timeout=120)
        m = wait_for(lambda: exporter.scrape(), 60, "a scrape")
        # never scanned: the device is labelled by what the set-up said of it
        dev = {"device": next(s.labels["device"] for s in m["dmabuf_up"])}
        assert peer.serial in dev["device"]
        assert value(m["dmabuf_up"], **dev) == 0
        assert value(m["dmabuf_scan_errors"], **dev) >= 1
        assert exporter.proc.poll() is None
        m = exporter.scrape()  # and again: it still answers
        assert value(m["dmabuf_up"], **dev) == 0
    finally:
        rc = exporter.stop()
    assert rc == 0, exporter.log


#: the fake gzip of a device that lies in its deltas: the probe's ``echo x | gzip`` gets
#: a real gzip; in the collector's output the first unchanged section (``@@NONCE NAME =``)
#: becomes a diff whose hunk header has a 5,000-digit line number (more than int() takes)
LYING_GZIP = r"""#!/bin/sh
exec sed '0,/^\(@@[^ ]* [^ ]*\) =$/s//\1 +\n@@ -{digits} +1 @@\n+x/' | {gzip} -1 -c
"""


def test_a_delta_with_a_huge_line_number_is_refused_never_a_traceback(server, tmp_path):
    """The lying diff is refused as malformed, and the refresh is redone in full."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "gzip").write_text(LYING_GZIP.format(digits="9" * 5000, gzip=shutil.which("gzip")))
    (bin_dir / "gzip").chmod(0o755)
    p = HostPeer("--path-prefix", str(bin_dir))
    server.connect(p.serial)
    try:
        out = tmp_path / "rec.yaml"
        r = server.dmabuf_top("record", "--adb", p.serial, "-n", "3", "-i", "0.1", "-o", str(out))
    finally:
        p.kill()
        server.disconnect(p.serial)
    assert "Traceback" not in r.stderr, r.stderr
    assert r.returncode == 0 and r.stderr.startswith("recorded 3 samples to "), r.stderr


@pytest.mark.parametrize("uid", ["\u00b2", "9" * 5000], ids=["superscript-two", "5000-digits"])
def test_a_uid_int_refuses_is_one_line_never_a_traceback(server, tmp_path, uid):
    """A device whose ``id -u`` says a superscript two (str.isdigit() took it) or 5,000
    digits: int() raised ValueError from the set-up's parser, a traceback."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "id").write_text(f"#!/bin/sh\nprintf '%s\\n' '{uid}'\n")
    (bin_dir / "id").chmod(0o755)
    p = HostPeer("--path-prefix", str(bin_dir))
    server.connect(p.serial)
    try:
        r = server.dmabuf_top("snapshot", "--adb", p.serial)
    finally:
        p.kill()
        server.disconnect(p.serial)
    assert "Traceback" not in r.stderr, r.stderr[-300:]
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr == f"dmabuf-top: error: {p.serial}: the device shell did not say its uid\n"


#: the fake gzip of a device whose "denied" section holds one 4.4 MB line of 200,000
#: ``/proc/3999999999/maps`` paths and no "Permission denied"
DENIED_GZIP = r"""#!/bin/sh
awk '{{ print }} /^@@[^ ]* denied/ && !d {{ d = 1; fflush()
  system("yes \"/proc/3999999999/maps \" | head -n 200000 | tr -d \"\\n\"; echo") }}' | {gzip} -1 -c
"""


def test_a_long_denied_line_is_read_in_linear_time(server, tmp_path):
    """``/proc/N/maps\\b.*Permission denied`` searched such a line from every path in it
    to its end: quadratic (208 KB took 8.9 s, this line about 20 minutes: a device
    stalled snapshot, serve and the TUI). The snapshot comes at once."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "gzip").write_text(DENIED_GZIP.format(gzip=shutil.which("gzip")))
    (bin_dir / "gzip").chmod(0o755)
    p = HostPeer("--path-prefix", str(bin_dir))
    server.connect(p.serial)
    try:
        r = server.dmabuf_top("snapshot", "--adb", p.serial, timeout=120)  # bounds a stall
    finally:
        p.kill()
        server.disconnect(p.serial)
    assert r.returncode == 0 and "schema: dmabuf-top/1" in r.stdout, r.stderr[-300:]
    assert 3999999999 not in yaml.safe_load(r.stdout)["unreadable_pids"]  # none denied
