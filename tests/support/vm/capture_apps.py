"""Regenerate tests/data/vm-6.18-apps/: the app scene (apps_scene.py: holders in two
systemd-like app scopes and a docker-like container scope) on a real 6.18 kernel.

    python -m tests.support.vm.capture_apps [--dest tests/data/vm-6.18-apps]

Boots the 6.18 VM, runs apps_scene.py and keeps what ``dmabuf-top snapshot`` says
of it (snapshot.yaml) and the scene's own record (scene.json): what the Apps view's
Pilot test loads.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.support.vm.capture_bpf import dest_dir
from tests.support.vm.guest import start_scenario
from tests.support.vm.vm import VM

REPO = Path(__file__).resolve().parents[3]
DEFAULT_DEST = REPO / "tests" / "data" / "vm-6.18-apps"
SCENE = Path(__file__).resolve().parent / "apps_scene.py"


def main(argv: list[str] | None = None) -> int:
    dest = dest_dir(argv, __doc__, DEFAULT_DEST)
    with VM(series="6.18") as vm:
        with start_scenario(vm, script=SCENE, out="/tmp/apps.json") as run:
            exe = str(Path(vm.python).parent / "dmabuf-top")
            snap = vm.run([exe, "snapshot"], timeout=600, check=True, cwd="/tmp").stdout
            record = run.record
        release = vm.kernel_release
    (dest / "snapshot.yaml").write_text(snap)
    (dest / "scene.json").write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    print(f"captured Linux {release} into {dest}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
