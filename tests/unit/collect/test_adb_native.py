"""The native collector's device side as text: which binary fits the device, where it
goes, the one command that checks and tries it, and how its answer reads."""

from __future__ import annotations

import hashlib

import pytest

from dmabuf_top.collect.adb_native import (
    PROBE_ANSWER,
    NativeUnusable,
    abi_of,
    binary,
    check_command,
    deploy,
    fallback_warning,
    parse_check,
    place_problem,
    probe_command,
    remote_path,
)
from dmabuf_top.collect.adb_setup import DeviceFacts, collector_command, parse_setup, shquote


def test_the_abi_from_getprop_else_uname():
    assert abi_of(DeviceFacts(abi="arm64-v8a", machine="aarch64")) == "arm64-v8a"
    assert abi_of(DeviceFacts(machine="x86_64")) == "x86_64"
    assert abi_of(DeviceFacts(machine="aarch64")) == "arm64-v8a"
    with pytest.raises(NativeUnusable, match="ABI 'armeabi-v7a'"):
        abi_of(DeviceFacts(abi="armeabi-v7a", machine="armv8l"))
    with pytest.raises(NativeUnusable, match=r"ABI 'mips\\e'"):
        abi_of(DeviceFacts(machine="mips\x1b"))  # device text shown literally
    with pytest.raises(NativeUnusable, match="did not say its ABI"):
        abi_of(DeviceFacts())


def test_setup_reads_abi_machine_and_temporary_directory():
    f = parse_setup("uid=2000\nabi=arm64-v8a\nmachine=aarch64\ntmp=/data/local/tmp\n")
    assert (f.abi, f.machine, f.tmp) == ("arm64-v8a", "aarch64", "/data/local/tmp")
    for hostile in ("/tmp/$(reboot)", "tmp", "/tmp/a b", "/tmp/\x1b[2J"):
        assert parse_setup(f"uid=0\ntmp={hostile}\n").tmp == ""  # the native one is not used


def test_remote_name_is_the_checksum_in_the_users_directory_never_like_a_dmabuf():
    data = binary("arm64-v8a")
    path = remote_path("/data/local/tmp", data, 2000)
    sha = hashlib.sha256(data).hexdigest()[:16]
    assert path == f"/data/local/tmp/dt-native.2000/collector-{sha}"
    assert "/dmabuf" not in path


def test_the_check_runs_nothing_and_the_probe_runs_through_su_when_the_collector_would():
    facts = DeviceFacts(uid=2000, su="c", gzip=True)
    cmd = check_command("/data/local/tmp/dt-native.2000/x")
    assert "(umask 077; mkdir '/data/local/tmp/dt-native.2000')" in cmd
    assert "ls -ldn '/data/local/tmp/dt-native.2000'" in cmd
    assert "ls -ldn '/data/local/tmp/'" in cmd
    assert "sha256sum '/data/local/tmp/dt-native.2000/x'" in cmd
    assert "probe" not in cmd and "su" not in cmd.replace("sha256sum", "")
    probe = probe_command(facts, "/data/local/tmp/dt-native.2000/x")
    assert "su -c ''\\''/data/local/tmp/dt-native.2000/x'\\'' probe'" in probe
    run = collector_command(facts, "ino", session=["ab", "-"], program="/t/dt-collector-x")
    inner = shquote("'/t/dt-collector-x' 'ino' 'ab' '-'")
    assert run == "{ su -c " + inner + "; } </dev/null 2>/dev/null | gzip -1 -c"


PRIVATE = "drwx------ 2 0 0 4096 Dec  7 11:14 /tmp/dt-native.0"
STICKY = "drwxrwxrwt 9 0 0 4096 Dec  7 11:14 /tmp/"


def _device(
    sha: str, ran: str = PROBE_ANSWER, status: str = "0", place: str = PRIVATE, tmp: str = STICKY
):
    calls: list[str] = []

    def run(cmd: str) -> bytes:
        calls.append(cmd)
        if " probe" in cmd:
            return f"dmabuf-top-ran={ran}\ndmabuf-top-status={status}\n".encode()
        return f"dmabuf-top-dir={place}\ndmabuf-top-tmp={tmp}\ndmabuf-top-sha={sha}\n".encode()

    return calls, run


def test_deploy_pushes_only_what_is_missing_or_different():
    facts = DeviceFacts(uid=0, machine="x86_64", tmp="/tmp")
    good = hashlib.sha256(binary("x86_64")).hexdigest()
    pushed: list[str] = []
    calls, run = _device(good)
    got = deploy(facts, run, lambda data, path: pushed.append(path))
    assert not got.pushed and not pushed and len(calls) == 2  # check, probe
    calls, run = _device("f" * 64)  # a different file there, and still after the push
    with pytest.raises(NativeUnusable, match="checksum mismatch after adb push"):
        deploy(facts, run, lambda data, path: pushed.append(path))
    assert pushed == [got.path] and len(calls) == 2  # check, check: never run


@pytest.mark.parametrize(
    ("place", "tmp", "why"),
    [("drwx------ 2 65534 65534 40 Dec 7 11:14 d", STICKY, "owned by uid 65534, not 0"),
     ("drwxrwxrwx 2 0 0 40 Dec 7 11:14 d", STICKY, "mode drwxrwxrwx, not drwx------"),
     ("drwx------+ 2 0 0 40 Dec 7 11:14 d", STICKY, "mode drwx------+, not drwx------"),
     ("lrwxrwxrwx 1 65534 65534 4 Dec 7 11:14 d -> /etc", STICKY, "not a directory (lrwxrwxrwx)"),
     ("", STICKY, "not a directory (missing)"),
     (PRIVATE, "drwxrwxrwx 9 0 0 40 Dec 7 11:14 /tmp/", "parent is writable by every user"),
     (PRIVATE, "", "parent is writable by every user and not sticky (unknown)")],
)  # fmt: skip
def test_a_place_another_user_can_change_is_refused_before_any_push_or_run(place, tmp, why):
    assert why in place_problem(place, tmp, 0)
    facts = DeviceFacts(uid=0, machine="x86_64", tmp="/tmp")
    calls, run = _device("f" * 64, place=place, tmp=tmp)
    pushed: list[str] = []
    with pytest.raises(NativeUnusable, match="/tmp/dt-native.0: "):
        deploy(facts, run, lambda data, path: pushed.append(path))
    assert not pushed and len(calls) == 1


def test_private_places_are_accepted():
    assert place_problem(PRIVATE, STICKY, 0) == ""
    android = "drwxrwx--x 4 2000 2000 3452 2026-12-07 11:14 /data/local/tmp/"
    assert place_problem(PRIVATE.replace(" 0 0 ", " 2000 2000 "), android, 2000) == ""
    selinux = "drwx------. 2 0 0 40 Dec 7 11:14 d"
    assert place_problem(selinux, STICKY, 0) == ""


@pytest.mark.parametrize(
    ("status", "ran", "why"),
    [("126", "sh: /tmp/x: Permission denied", "cannot execute it (a noexec mount or SELinux)"),
     ("127", "", "not found when run"), ("0", "garbage", "exit status 0: garbage")],
)  # fmt: skip
def test_a_binary_that_does_not_run_is_one_line_saying_why(status, ran, why):
    facts = DeviceFacts(uid=0, machine="x86_64", tmp="/tmp")
    _, run = _device(hashlib.sha256(binary("x86_64")).hexdigest(), ran, status)
    with pytest.raises(NativeUnusable) as e:
        deploy(facts, run, lambda data, path: None)
    assert why in str(e.value) and "\n" not in str(e.value)
    (line,) = fallback_warning(str(e.value))
    assert line.startswith("native collector not used (") and fallback_warning("") == []


def test_parse_check_takes_the_first_of_each():
    got = parse_check("dmabuf-top-sha=a\ndmabuf-top-sha=b\ndmabuf-top-status=0\n")
    assert got == {"sha": "a", "dir": "", "tmp": "", "ran": "", "status": "0"}
