"""adb_delta: a refresh that sent only what changed, made whole on the host.

The deltas are made by the real diff tools a device has (GNU diff, busybox diff;
Android's toybox diff writes the same unified format), the streams are REAL
collector output recorded in the 6.1 VM with churn applied to its kernel text:
the rebuilt stream must be byte for byte the full one, and give the same Snapshot.
(tests/integration/test_adb_delta.py runs the real collector on both sides.)
"""

from __future__ import annotations

import hashlib
import random
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from dmabuf_top.collect.adb_delta import (
    DeltaError,
    DeltaSession,
    DiffError,
    apply_diff,
    state_sum,
)
from dmabuf_top.collect.adb_stream import parse_stream
from dmabuf_top.collect.assemble import assemble
from dmabuf_top.io.codec import dump_snapshot
from tests.support.paths import DATA

TAKEN_AT = "2026-11-21T10:00:00Z"
#: the sections collector.sh sends through o() (kept in the session's state)
STORED = ("unreadable", "fdino", "maps", "uids", "fdinfo", "comm", "files", "bufinfo",
          "denied", "sysfs")  # fmt: skip


def diff_tools() -> list[list[str]]:
    tools = [["diff"]] if shutil.which("diff") else []
    if shutil.which("busybox"):
        tools.append(["busybox", "diff"])
    if not tools:
        pytest.skip("no diff tool")
    return tools


def run_diff(tool: list[str], old: bytes, new: bytes, tmp: Path) -> bytes:
    (tmp / "a").write_bytes(old)
    (tmp / "b").write_bytes(new)
    r = subprocess.run([*tool, "-a", "-U0", str(tmp / "a"), str(tmp / "b")], capture_output=True)
    assert r.returncode in (0, 1), r.stderr
    return r.stdout


def random_lines(rng: random.Random) -> list[bytes]:
    alphabet = [b"a", b"b", b"x y", b"\tname:\tz", b"\r", b"\xff\xfe", b"-", b"+", b"@@ -1 +1 @@"]
    return [b"".join(rng.choices(alphabet, k=rng.randint(0, 3))) for _ in range(rng.randint(0, 12))]


def test_apply_diff_undoes_real_diff_tools(tmp_path: Path) -> None:
    rng = random.Random(14)
    for tool in diff_tools():
        for _ in range(120):
            old = random_lines(rng)
            new = list(old)
            for _ in range(rng.randint(0, 4)):
                at = rng.randint(0, len(new))
                op = rng.choice("id")
                if op == "i" or not new:
                    new.insert(at, rng.choice(random_lines(rng) or [b"q"]))
                else:
                    del new[min(at, len(new) - 1)]
            old_b = b"\n".join(old) + rng.choice([b"", b"\n"])
            new_b = b"\n".join(new) + rng.choice([b"", b"\n"])
            assert apply_diff(old_b, run_diff(tool, old_b, new_b, tmp_path)) == new_b, tool


def test_a_delta_that_does_not_fit_is_refused(tmp_path: Path) -> None:
    (tool,) = diff_tools()[:1]
    d = run_diff(tool, b"a\nb\nc\n", b"a\nB\nc\n", tmp_path)
    assert apply_diff(b"a\nb\nc\n", d) == b"a\nB\nc\n"
    for other in (b"a\nX\nc\n", b"", b"a\n"):
        with pytest.raises(DiffError, match="does not fit"):
            apply_diff(other, d)
    with pytest.raises(DiffError, match="cut short"):
        apply_diff(b"a\nb\nc\n", d[: d.rindex(b"+B")])


# -- the recorded stream, cut into sections and churned ------------------------


def sections(data: bytes) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """(first line, marker, [(name, body)]) with the "f" sections in "files"' body."""
    first, _, rest = data.partition(b"\n")
    marker = b"\n@@" + first.split()[2] + b" "
    out: list[tuple[str, bytes]] = []
    for piece in (b"\n" + rest).split(marker)[1:]:
        head, _, body = piece.partition(b"\n")
        if head == b"f":
            name, prev = out[-1]
            out[-1] = (name, prev + marker + piece)
        else:
            out.append((head.decode(), body))
    return first, marker, out


def join(first: bytes, marker: bytes, secs: list[tuple[str, bytes]]) -> bytes:
    return first + b"\n" + marker.join([b""] + [n.encode() + b"\n" + b for n, b in secs])


def churn(data: bytes, rng: random.Random) -> bytes:
    """The recorded stream after random churn: closed and new fds, unmapped and new
    mappings, a dead process, a renamed buffer."""
    first, marker, secs = sections(data)
    body = dict(secs)
    fdinfo = body["fdinfo"].split(b"\n")
    fds = sorted({ln.split(b":", 1)[0] for ln in fdinfo if ln})
    src = rng.choice(fds)  # a new fd: a dup of another one
    new_fd = src.rsplit(b"/", 1)[0] + b"/9%02d" % rng.randrange(100)
    dup = [new_fd + ln[len(src) :] for ln in fdinfo if ln.startswith(src + b":")]
    gone = rng.choice(fds)  # a closed fd
    fdinfo = [ln for ln in fdinfo if not ln.startswith(gone + b":")] + dup
    maps = [ln for ln in body["maps"].split(b"\n") if ln]
    if maps:
        maps.pop(rng.randrange(len(maps)))  # an unmapped map
        if maps:
            m = rng.choice(maps)  # a new mapping of the same buffer elsewhere
            maps.append(m.replace(b":7f", b":6e", 1))
    # a renamed buffer: its fdinfo name and its bufinfo row
    named = [ln for ln in fdinfo if b":name:\t" in ln]
    if named:
        old = named[0].split(b":name:\t", 1)[1]
        fdinfo = [ln.replace(b":name:\t" + old, b":name:\trenamed \x1b[31m") for ln in fdinfo]
        if "bufinfo" in body:
            body["bufinfo"] = body["bufinfo"].replace(b"\t" + old + b"\n", b"\trenamed\n", 1)
    # a dead process: every line of it goes
    pids = sorted({ln.split(b"/")[2] for ln in fdinfo if ln.startswith(b"/proc/")})
    dead = b"/proc/" + rng.choice(pids) + b"/" if len(pids) > 1 else b"/proc/none/"
    fdinfo = [ln for ln in fdinfo if not ln.startswith(dead)]
    maps = [ln for ln in maps if not ln.startswith(dead)]
    body["fdinfo"] = b"\n".join(ln for ln in fdinfo if ln) + b"\n"
    body["maps"] = b"".join(ln + b"\n" for ln in maps)
    for name in ("uids", "fdino", "comm"):
        if name in body:
            lines = body[name].split(b"\n")
            kept = [ln for ln in lines if dead not in ln + b"/" and not ln.endswith(dead[:-1])]
            body[name] = b"\n".join(kept)
    return join(first, marker, [(n, body[n]) for n, _ in secs])


def device_delta(
    full: bytes, held: dict[str, bytes] | None, tool: list[str], tmp: Path
) -> tuple[bytes, bytes]:
    """What collector.sh with a session sends for the scan `full` when its state
    holds `held` (None: a full resync), and the whole stream the host must rebuild."""
    first, marker, secs = sections(full)
    first = first.replace(b" 1 ", b" 2 ", 1)
    sent = [("mode", b"full missing\n" if held is None else b"delta\n")]
    whole = list(sent)
    new: dict[str, bytes] = {}
    for name, body in secs:
        if name == "end":
            continue
        whole.append((name, body))
        if name not in STORED:
            sent.append((name, body))
            continue
        new[name] = body
        before = None if held is None else held.get(name)
        if before is None:
            sent.append((f"{name} !", body))
        elif before == body:
            sent.append((f"{name} =", b""))
        else:
            sent.append((f"{name} +", run_diff(tool, before, body, tmp)))
    digest = hashlib.md5(b"".join(new[n] for n in sorted(new))).hexdigest().encode() + b"\n"
    tail = [("state", digest), ("end", b"")]
    return join(first, marker, sent + tail), join(first, marker, whole + tail)


def as_doc(data: bytes) -> dict:
    return yaml.safe_load(dump_snapshot(assemble(parse_stream(data, TAKEN_AT))))


@pytest.mark.parametrize("tag", ["root", "uid2000"])
def test_delta_refreshes_rebuild_the_full_stream(tag: str, tmp_path: Path) -> None:
    recorded = (DATA / "adb" / f"vm-6.1-{tag}.out").read_bytes()
    rng = random.Random(tag)
    for tool in diff_tools():
        session = DeltaSession()
        scan, held = recorded, None
        for step in range(6):
            sent, whole = device_delta(scan, held, tool, tmp_path)
            rebuilt = session.rebuild(sent)
            assert rebuilt.data == whole
            assert as_doc(rebuilt.data) == as_doc(scan)
            assert rebuilt.mode == ("full missing" if step == 0 else "delta")
            session.keep(rebuilt)
            assert session.sum == state_sum(rebuilt.bodies) and session.bodies
            held = rebuilt.bodies
            if tag == "root" and step == 1:  # nothing changed: every stored section "="
                assert len(sent) < 1200 < len(scan) // 10
            if step >= 1:
                scan = churn(scan, rng)
        if tag == "root":
            assert as_doc(scan) != as_doc(recorded)  # the churn did churn


def test_a_wrong_copy_is_found_by_the_checksum(tmp_path: Path) -> None:
    recorded = (DATA / "adb" / "vm-6.1-root.out").read_bytes()
    (tool,) = diff_tools()[:1]
    session = DeltaSession()
    sent, _ = device_delta(recorded, None, tool, tmp_path)
    session.keep(session.rebuild(sent))
    device_state = dict(session.bodies)
    session.bodies["comm"] = session.bodies["comm"].replace(b"compositor", b"compositer")
    sent, _ = device_delta(recorded, device_state, tool, tmp_path)
    with pytest.raises(DeltaError, match="checksum"):
        session.rebuild(sent)
    fresh = DeltaSession()  # a delta to a host that holds nothing
    with pytest.raises(DeltaError, match="no state the host holds"):
        fresh.rebuild(sent)
    # without a session (old collector, recorded text): passed through untouched
    assert fresh.rebuild(recorded).data == recorded and fresh.rebuild(recorded).mode == ""
    assert fresh.args() == [fresh.id, "-"]


def test_a_hunk_with_a_line_number_int_refuses_is_malformed() -> None:
    for n in ("9" * 19, "9" * 5000):
        with pytest.raises(DiffError, match="malformed delta"):
            apply_diff(b"a\n", f"@@ -{n} +1 @@\n+x\n".encode())
        with pytest.raises(DiffError, match="malformed delta"):
            apply_diff(b"a\n", f"@@ -1 +1,{n} @@\n+x\n".encode())
