"""The native collector on an adb device: the shipped binary for the device's ABI, its
place and checksum there, the one shell command that checks and tries it, and why it
cannot be used (then the shell collector runs, and the snapshot says so in one line).

The binaries (``collect/native/collector-ABI``, built by ``collect/native/build.sh``)
print exactly what ``collector.sh`` prints. :func:`deploy` pushes the one that fits
(adbutils' sync API, ``adb push``) to the shell's temporary directory under a name
made of its sha256, checks the sha256 of the file on the device before the first use
and after every push, and runs it once (``probe``) as the collector will run.
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
#: what the check command's output lines start with
_SHA, _RAN, _STATUS = "dmabuf-top-sha=", "dmabuf-top-ran=", "dmabuf-top-status="


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


def remote_path(tmp: str, data: bytes) -> str:
    """Where the binary goes: the shell's temporary directory, named by its sha256 (a
    new version never meets an old file; no ``/dmabuf`` in the name, which the
    collector's maps section would list)."""
    return f"{tmp}/dt-collector-{hashlib.sha256(data).hexdigest()[:16]}"


def check_command(facts: DeviceFacts, path: str) -> str:
    """One shell command: the sha256 of ``path`` on the device, then the binary run
    once with ``probe`` as the collector runs (through su when that is used)."""
    q = shquote(path)
    run = as_root(facts, f"{q} probe")
    return (
        f's=$(sha256sum {q} 2>/dev/null); echo "{_SHA}${{s%% *}}"; '
        f'if [ -f {q} ]; then r=$({{ {run}; }} </dev/null 2>&1); x=$?; '
        f'else r=; x=none; fi; echo "{_RAN}$r"; echo "{_STATUS}$x"'
    )


def parse_check(text: str) -> tuple[str, str, str]:
    """(sha256 on the device, what the probe printed, its exit status)."""
    got = {_SHA: "", _RAN: "", _STATUS: ""}
    for line in text.splitlines():
        for key in got:
            if line.startswith(key) and not got[key]:
                got[key] = line[len(key) :].strip()
    return got[_SHA], got[_RAN], got[_STATUS]


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
    path = remote_path(facts.tmp, data)
    sha, ran, status = parse_check(run(check_command(facts, path)).decode("utf-8", "replace"))
    pushed = False
    if sha != want:
        push(data, path)
        pushed = True
        sha, ran, status = parse_check(run(check_command(facts, path)).decode("utf-8", "replace"))
        if sha != want:
            got = printable(sha[:64]) or "none (no sha256sum?)"
            raise NativeUnusable(f"checksum mismatch after adb push to {printable(path)}: {got}")
    if status != "0" or ran != PROBE_ANSWER:
        raise NativeUnusable(_run_failure(path, ran, status))
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
