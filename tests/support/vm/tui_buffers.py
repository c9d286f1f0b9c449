"""A guest process for the TUI end-to-end test: buffers that come and go on cue.

Run as root in the test VM (vgem loaded)::

    python tests/support/vm/tui_buffers.py

Holds one dma-buf named ``tui-doomed`` and prints ``READY``. On SIGUSR1 it
frees ``tui-doomed`` and makes ``tui-arrival`` (printing ``SWAPPED``); on
SIGTERM it frees everything and exits.
"""

from __future__ import annotations

import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vgem  # noqa: E402

MiB = 1024 * 1024
DOOMED = "tui-doomed"
ARRIVAL = "tui-arrival"


def main() -> int:
    card = vgem.Card()
    held = {DOOMED: card.dmabuf(3 * MiB, DOOMED)}

    def swap(signum: int, frame: object) -> None:
        if DOOMED in held:
            os.close(held.pop(DOOMED))
            held[ARRIVAL] = card.dmabuf(5 * MiB, ARRIVAL)
            print("SWAPPED", flush=True)

    def stop(signum: int, frame: object) -> None:
        for fd in held.values():
            os.close(fd)
        card.close()
        sys.exit(0)

    signal.signal(signal.SIGUSR1, swap)
    signal.signal(signal.SIGTERM, stop)
    print("READY", flush=True)
    while True:
        signal.pause()


if __name__ == "__main__":
    sys.exit(main())
