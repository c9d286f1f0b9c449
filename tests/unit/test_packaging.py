"""`pip install .` must ship the top-level themes/ and the demo snapshot: build the
real wheel, install it into an empty directory away from the repository, and ask the
installed package what it finds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile

from tests.support.paths import REPO

PROBE = """
import json, dmabuf_top
from dmabuf_top.tui.themes import bundled_theme_dir, load_themes
from dmabuf_top.cli.options import DEMO_RECORDING
from dmabuf_top.io.loader import load_snapshots
ts = load_themes(dirs=[bundled_theme_dir()])
print(json.dumps({"pkg": dmabuf_top.__file__, "themes": ts.names, "errors": ts.errors,
                  "theme_dir": str(bundled_theme_dir()),
                  "demo_buffers": len(load_snapshots(DEMO_RECORDING)[0].buffers)}))
"""


def test_wheel_ships_themes_and_demo(tmp_path):
    wheels = tmp_path / "wheels"
    r = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", str(REPO), "-w", str(wheels)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr
    (wheel,) = wheels.glob("dmabuf_top-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    repo_themes = sorted(p.name for p in (REPO / "themes").glob("*.yaml"))
    assert len(repo_themes) >= 3
    assert sorted(n.split("/")[-1] for n in names if n.startswith("dmabuf_top/data/themes/")) == (
        repo_themes
    )
    assert "dmabuf_top/data/demo.yaml" in names
    assert "dmabuf_top/tui/app.tcss" in names
    for abi in ("arm64-v8a", "x86_64"):  # the native adb collectors, and their source
        assert f"dmabuf_top/collect/native/collector-{abi}" in names
    assert "dmabuf_top/collect/native/collector.c" in names

    target = tmp_path / "site"
    r = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
         str(wheel)],
        capture_output=True,
        text=True,
        timeout=600,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(target)
    r = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(target)!r})\n" + PROBE],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    assert got["pkg"].startswith(str(target))
    assert got["theme_dir"].startswith(str(target))
    assert len(got["themes"]) == len(repo_themes) and got["errors"] == []
    assert got["demo_buffers"] > 0
