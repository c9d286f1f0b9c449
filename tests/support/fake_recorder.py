"""`dmabuf-top record` with a synthetic backend, run as a child process by tests.

    python -m tests.support.fake_recorder [--big] RECORD-ARGS...

Sample i is :func:`sample` (i): without ``--big``, synth.leak_series (one more
leaked buffer per sample); with ``--big``, 600 buffers that are all new in every
sample, so every sample is a full document of ~150 KB (more than a pipe holds).
"""

from __future__ import annotations

import sys

from dmabuf_top.model import Snapshot
from tests.support.synth import COMMS, MIB, buf, snap


def sample(i: int, big: bool) -> Snapshot:
    if big:
        bufs = [
            buf(100_000 * (i + 1) + k, MIB, f"frame {k}", holders={200 + k % 5: [k + 3]})
            for k in range(600)
        ]
        return snap(bufs, {200 + k: f"app{k}" for k in range(5)}, t=2 * i)
    bufs = [buf(10, 8 * MIB, "scanout", holders={100: [5]})]
    bufs += [buf(1000 + k, MIB, f"leak-{k}", holders={200: [10 + k]}) for k in range(i + 1)]
    bufs.append(buf(2000 + i, 2 * MIB, "churn", holders={300: [7]}))
    return snap(bufs, COMMS, t=2 * i)


class FakeBackend:
    kind = "local"
    live = True

    def __init__(self, big: bool) -> None:
        self.big = big
        self.i = 0

    def collect(self) -> Snapshot:
        s = sample(self.i, self.big)
        self.i += 1
        return s

    def describe(self) -> str:
        return "fake"


def main() -> int:
    argv = sys.argv[1:]
    big = "--big" in argv
    if big:
        argv.remove("--big")
    import dmabuf_top.cli.record as rec
    from dmabuf_top.cli import main as cli_main

    rec.open_backend = lambda args: FakeBackend(big)
    return cli_main(["record", *argv])


if __name__ == "__main__":
    sys.exit(main())
