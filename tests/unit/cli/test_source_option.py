"""``--source auto|proc|bpf`` and ``--walker native|python``: how the local machine is
scanned; only for it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support.paths import REPO


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dmabuf_top", *args], capture_output=True, text=True, cwd=REPO,
        timeout=120,
    )


@pytest.mark.parametrize("other", [["--demo"], ["--adb", "X"]])
def test_source_with_another_source_is_a_usage_error(other):
    r = run("--once", "--source", "proc", *other)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and "--source proc is how to scan this machine" in r.stderr


def test_unknown_source_is_one_line():
    r = run("--once", "--source", "ebpf")
    assert r.returncode == 2 and "invalid choice: 'ebpf'" in r.stderr
    assert "Traceback" not in r.stderr


def test_proc_walk_runs_here():
    r = run("--once", "--source", "proc", "--view", "processes")
    assert r.returncode == 0, r.stderr
    assert "BPF scan" not in r.stdout  # the walk was asked for: nothing to explain


@pytest.mark.parametrize("other", [["--demo"], ["--adb", "X"]])
def test_walker_with_another_source_is_a_usage_error(other):
    r = run("--once", "--walker", "python", *other)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and "--walker python is how to scan this machine" in r.stderr


@pytest.mark.parametrize("walker", ["native", "python"])
def test_either_walker_runs_here_and_says_nothing(walker):
    r = run("--once", "--source", "proc", "--walker", walker, "--view", "processes")
    assert r.returncode == 0, r.stderr
    assert "native walk" not in r.stdout + r.stderr
    r = run("--once", "--walker", "perl")
    assert r.returncode == 2 and "invalid choice: 'perl'" in r.stderr
