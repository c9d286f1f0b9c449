"""The committed native collectors (adb's, and the local walk's) are what collector.c builds to with
collect/native/build.sh (zig from PyPI, the version pinned), built somewhere else than
the package (so no path of the tree is in them), and they ship next to their source."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys

import pytest

from dmabuf_top.collect.adb_native import BINARIES, binary
from tests.conftest import in_ci
from tests.support.paths import REPO

NATIVE = REPO / "dmabuf_top" / "collect" / "native"


def test_committed_binaries_are_what_the_source_builds_to(tmp_path):
    if importlib.util.find_spec("ziglang") is None:
        msg = "ziglang not installed (pip install -c .ci/constraints.txt ziglang)"
        if in_ci():
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
    src = tmp_path / "elsewhere" / "src"
    src.mkdir(parents=True)
    for path in [*NATIVE.glob("*.[ch]"), NATIVE / "build.sh"]:
        shutil.copy(path, src / path.name)
    out = tmp_path / "out"
    out.mkdir()
    # zig's cache (its musl builds) outlives the test: a rerun takes seconds, not minutes
    env = {"PATH": "/usr/bin:/bin", "PYTHON": sys.executable, "ZIG_CACHE": str(REPO / ".zig-cache")}
    r = subprocess.run(["sh", str(src / "build.sh"), str(out)], env=env, capture_output=True,
                       text=True, timeout=1800)  # fmt: skip
    assert r.returncode == 0, r.stderr
    for abi, name in BINARIES.items():
        assert (out / name).read_bytes() == binary(abi), (
            f"{name} differs from what collector.c builds to: "
            "run sh dmabuf_top/collect/native/build.sh and commit the binaries"
        )


def test_build_refuses_another_zig(tmp_path):
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho 0.11.0\n")
    fake.chmod(0o755)
    r = subprocess.run(["sh", str(NATIVE / "build.sh"), str(tmp_path)], capture_output=True,
                       text=True, env={"PATH": "/usr/bin:/bin", "PYTHON": str(fake)})  # fmt: skip
    assert r.returncode == 1 and "zig 0.11.0, want 0.17.1" in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["python"]


def test_binaries_lie_next_to_their_source_and_are_static_elf():
    assert (NATIVE / "collector.c").is_file()
    for abi in BINARIES:
        data = binary(abi)
        assert data[:4] == b"\x7fELF" and len(data) < 256 * 1024
        assert b"/work/" not in data and b".zig-cache" not in data
