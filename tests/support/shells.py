"""The shells a device may have, on this machine: dash, Android's mksh with toybox's
applets (``sh`` is mksh, as in /system/bin), and busybox; each as the command that runs
a script and the environment whose PATH holds only that shell's tools."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.support.adb_harness import require

FLAVOURS = ["dash", "mksh+toybox", "busybox"]


def device_shell(flavour: str, tmp_path: Path) -> tuple[list[str], dict[str, str]]:
    """The command (append ``-c SCRIPT``) and environment of ``flavour``."""
    if flavour == "dash":
        return [require("dash")], dict(os.environ)
    bindir = tmp_path / f"bin-{flavour}"
    bindir.mkdir()
    if flavour == "busybox":
        bb = require("busybox")
        subprocess.run([bb, "--install", "-s", str(bindir)], check=True)
        return [str(bindir / "sh")], {"PATH": str(bindir)}
    toybox = require("toybox")
    for applet in subprocess.run([toybox], capture_output=True, text=True).stdout.split():
        os.symlink(toybox, bindir / applet)
    mksh = require("mksh")
    (bindir / "sh").unlink(missing_ok=True)  # a toybox with its own sh: mksh is Android's
    os.symlink(mksh, bindir / "sh")
    return [mksh], {"PATH": str(bindir)}
