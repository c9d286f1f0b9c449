"""Build tests/support/vm/storm.c on the host (gcc, static when it can) and put it in
the guest: ``install_storm(vm) -> path`` of the binary in the guest's /tmp."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

SOURCE = Path(__file__).resolve().with_name("storm.c")
GUEST_PATH = "/tmp/dmabuf-storm"


def build(dest: Path) -> Path:
    cc = shutil.which("gcc") or shutil.which("cc")
    if not cc:
        raise RuntimeError("gcc not found: apt-get install gcc libc6-dev")
    out = dest / "storm"
    for flags in (["-static"], []):
        r = subprocess.run([cc, "-O2", "-Wall", *flags, "-o", str(out), str(SOURCE)],
                           capture_output=True, text=True)
        if r.returncode == 0:
            return out
    raise RuntimeError(f"cannot compile {SOURCE}:\n{r.stderr}")


def install_storm(vm) -> str:  # noqa: ANN001
    with tempfile.TemporaryDirectory() as d:
        vm.write_file(GUEST_PATH, build(Path(d)).read_bytes(), mode=0o755)
    return GUEST_PATH
