"""Where things are: the repository, the tests' recorded data, the VM harness."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TESTS = REPO / "tests"
DATA = TESTS / "data"
VM_DIR = TESTS / "support" / "vm"
