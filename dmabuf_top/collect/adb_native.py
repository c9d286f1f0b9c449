"""The native collector on an adb device: the shipped binary for the device's ABI, its
place and checksum there, the one shell command that checks and tries it, and why it
cannot be used (then the shell collector runs, and the snapshot says so in one line).

The binaries (``collect/native/collector-ABI``, built by ``collect/native/build.sh``)
print exactly what ``collector.sh`` prints. :func:`deploy` pushes the one that fits
(adbutils' sync API, ``adb push``) into a directory of the device shell's own user in
its temporary directory (``dt-native.UID``, mode 0700, made by us: one another user made,
or a link, is refused), under a name made of its sha256, checks the sha256 of the file
there before the first use and after every push, and only then runs it once (``probe``)
as the collector will run. Nobody but that user (and root) can change the file between
the check and any later run, so the checksum checked once holds at every run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any

from dmabuf_top.collect.adb_setup import DeviceFacts, as_root, shquote
from dmabuf_top.textsafe import printable

#: device ABI (``ro.product.cpu.abi``) -> the binary shipped for it
BINARIES = {"arm64-v8a": "collector-arm64-v8a", "x86_64": "collector-x86_64"}
#: ``uname -m`` -> ABI, for a device that has no getprop
MACHINES = {"aarch64": "arm64-v8a", "arm64": "arm64-v8a", "x86_64": "x86_64"}
#: what the binary prints for the ``probe`` option (collector.c)
PROBE_ANSWER = "DMABUF-TOP-COLLECTOR 2 native"
#: what the check and probe commands' output lines start with
_SHA, _RAN, _STATUS = "dmabuf-top-sha=", "dmabuf-top-ran=", "dmabuf-top-status="
_DIR, _TMP = "dmabuf-top-dir=", "dmabuf-top-tmp="


class NativeUnusable(Exception):
    """Why the native collector cannot run on this device (str(): one line)."""


@dataclass
class Native:
    """The native collector ready on the device."""

    path: str
    #: the binary was pushed by this connection (not found there already)
    pushed: bool = False


def abi_of(facts: DeviceFacts) -> str:
    """The shipped ABI for the device; NativeUnusable when none fits."""
    abi = facts.abi or MACHINES.get(facts.machine, "")
    if abi in BINARIES:
        return abi
    said = facts.abi or facts.machine
    if not said:
        raise NativeUnusable("the device did not say its ABI")
    raise NativeUnusable(f"no native collector for the device's ABI '{printable(said[:40])}'")


def binary(abi: str) -> bytes:
    """The shipped collector for ``abi`` (one of BINARIES)."""
    return resources.files(__package__).joinpath("native", BINARIES[abi]).read_bytes()


def remote_path(tmp: str, data: bytes, uid: int) -> str:
    """Where the binary goes: the private directory of the shell's user ``uid`` in its
    temporary directory, named by its sha256 (a new version never meets an old file; no
    ``/dmabuf`` in the name, which the collector's maps section would list)."""
    return f"{tmp}/dt-native.{int(uid)}/collector-{hashlib.sha256(data).hexdigest()[:16]}"


def check_command(path: str) -> str:
    """One shell command, run as the device shell's user (adbd's, who pushes): the
    binary's directory made (mode 0700) when missing, ``ls -ldn`` of it and of the
    temporary directory, and the sha256 of ``path``. It runs nothing from there."""
    d = path.rpartition("/")[0]
    q, qd, qt = shquote(path), shquote(d), shquote(d.rpartition("/")[0] + "/")
    return (
        f"(umask 077; mkdir {qd}) 2>/dev/null; "
        f'echo "{_DIR}$(ls -ldn {qd} 2>/dev/null)"; echo "{_TMP}$(ls -ldn {qt} 2>/dev/null)"; '
        f's=$(sha256sum {q} 2>/dev/null); echo "{_SHA}${{s%% *}}"'
    )


def probe_command(facts: DeviceFacts, path: str) -> str:
    """The binary run once with ``probe`` as the collector runs (through su when that
    is used): what it printed, and its exit status."""
    run = as_root(facts, f"{shquote(path)} probe")
    return f'r=$({{ {run}; }} </dev/null 2>&1); x=$?; echo "{_RAN}$r"; echo "{_STATUS}$x"'


def parse_check(text: str) -> dict[str, str]:
    """The first line of each key the check and probe commands print (``sha``,
    ``dir``, ``tmp``, ``ran``, ``status``), after its key; "" when missing."""
    keys = {_SHA: "sha", _DIR: "dir", _TMP: "tmp", _RAN: "ran", _STATUS: "status"}
    got = dict.fromkeys(keys.values(), "")
    for line in text.splitlines():
        for key, name in keys.items():
            if line.startswith(key) and not got[name]:
                got[name] = line[len(key) :].strip()
    return got


def place_problem(dir_line: str, tmp_line: str, uid: int) -> str:
    """Why the binary's directory is no safe place to run it from ("" when it is):
    ``ls -ldn`` of it (a directory, not a link, of the shell's user ``uid``, mode 0700,
    no ACL) and of the temporary directory (not writable by every user unless sticky,
    or another user could rename ours away and put theirs in its place)."""
    f = dir_line.split()
    if len(f) < 3 or not f[0].startswith("d"):
        return "not a directory (" + (printable(f[0][:12]) if f else "missing") + ")"
    if f[0][1:10] != "rwx------" or "+" in f[0][10:]:
        return f"mode {printable(f[0][:11])}, not drwx------"
    if f[2] != str(uid):
        return f"owned by uid {printable(f[2][:12])}, not {uid}"
    t = (tmp_line.split() or ["unknown"])[0]
    if len(t) < 10 or (t[8] == "w" and t[9] not in "tT"):
        return f"its parent is writable by every user and not sticky ({printable(t[:11])})"
    return ""


def _run_failure(path: str, ran: str, status: str) -> str:
    said = printable(" ".join(ran.split())[:160])
    if status == "126":
        why = "cannot execute it (a noexec mount or SELinux)"
    elif status == "127":
        why = "not found when run"
    else:
        why = f"exit status {printable(status[:8])}"
    return f"{printable(path)}: {why}" + (f": {said}" if said else "")


def deploy(
    facts: DeviceFacts,
    run: Callable[[str], bytes],
    push: Callable[[bytes, str], None],
) -> Native:
    """The native collector, checked (and pushed when missing or different) on the
    device; ``run`` executes one shell command there (its output), ``push`` writes a
    file (mode 0755). NativeUnusable (one line) when it cannot be used."""
    abi = abi_of(facts)
    if not facts.tmp:
        raise NativeUnusable("the device shell has no writable temporary directory")
    data = binary(abi)
    want = hashlib.sha256(data).hexdigest()
    assert facts.uid is not None  # the probe said it (else setup failed)
    path = remote_path(facts.tmp, data, facts.uid)
    where = printable(path.rpartition("/")[0])
    got = parse_check(run(check_command(path)).decode("utf-8", "replace"))
    if problem := place_problem(got["dir"], got["tmp"], facts.uid):
        raise NativeUnusable(f"{where}: {problem}")
    pushed = False
    if got["sha"] != want:
        push(data, path)
        pushed = True
        got = parse_check(run(check_command(path)).decode("utf-8", "replace"))
        if got["sha"] != want:
            said = printable(got["sha"][:64]) or "none (no sha256sum?)"
            raise NativeUnusable(f"checksum mismatch after adb push to {printable(path)}: {said}")
    ran = parse_check(run(probe_command(facts, path)).decode("utf-8", "replace"))
    if ran["status"] != "0" or ran["ran"] != PROBE_ANSWER:
        raise NativeUnusable(_run_failure(path, ran["ran"], ran["status"]))
    return Native(path, pushed)


def fallback_warning(reason: str) -> list[str]:
    """The snapshot's one line when the shell collector runs instead (none: no reason)."""
    if not reason:
        return []
    return [f"native collector not used ({reason}): the shell collector runs instead"]


def prepare(
    facts: DeviceFacts,
    run: Callable[[str], bytes],
    push: Callable[[bytes, str], None],
    errors: tuple[type[BaseException], ...],
) -> tuple[Native | None, str]:
    """:func:`deploy`, or None and why not (one line): NativeUnusable, or one of
    ``errors`` (adb's) on the way."""
    try:
        return deploy(facts, run, push), ""
    except NativeUnusable as e:
        return None, str(e)
    except errors as e:
        return None, f"adb push failed: {printable(' '.join(str(e).split()))[:200]}"


def pusher(client: Any, serial: str) -> Callable[[bytes, str], None]:
    """``adb push`` of bytes to a path on the device (mode 0755): adbutils' sync API,
    through our client (adb_server's: every socket has a timeout)."""

    def push(data: bytes, path: str) -> None:
        client.device(serial).sync.push(data, path, mode=0o755)

    return push
