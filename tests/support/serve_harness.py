"""``dmabuf-top serve`` as a user runs it: a real process on a loopback port, scraped
over HTTP (urllib) and parsed with prometheus_client's own parser."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Mapping

from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from tests.support.paths import REPO


class Exporter:
    """``python -m dmabuf_top serve ARGS --listen 127.0.0.1:0``, up and listening."""

    def __init__(self, *args: str, env: Mapping[str, str] | None = None,
                 timeout: float = 60) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "dmabuf_top", "serve", "--listen", "127.0.0.1:0", *args],
            cwd=str(REPO), env=dict(env if env is not None else os.environ),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            text=True,
        )
        self.log: list[str] = []
        self._read = 0  # lines of the log read_line has handed out
        self._more = threading.Condition()
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()
        # the listening line (after the first scan's failures, if any)
        m = None
        deadline = time.monotonic() + timeout
        while m is None and self.proc.poll() is None:
            line = self.read_line(max(0.0, deadline - time.monotonic()))
            m = re.search(r"http://127\.0\.0\.1:([0-9]+)/metrics", line)
        if m is None:
            self.stop()
            raise AssertionError(f"serve did not start: {self.log}")
        self.url = f"http://127.0.0.1:{m.group(1)}/metrics"

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._more:
                self.log.append(line)
                self._more.notify_all()

    def read_line(self, timeout: float) -> str:
        """The next line the exporter logs (stderr)."""
        with self._more:
            if not self._more.wait_for(lambda: len(self.log) > self._read, timeout):
                raise AssertionError(f"nothing more on stderr in {timeout:.0f}s: {self.log}")
            self._read += 1
            return self.log[self._read - 1]

    def wait_log(self, text: str, timeout: float = 30) -> str:
        """The first log line holding ``text`` (waiting up to ``timeout`` for it)."""
        with self._more:
            found = self._more.wait_for(
                lambda: next((ln for ln in self.log if text in ln), None), timeout)
        if not found:
            raise AssertionError(f"no log line with {text!r} in {timeout:.0f}s: {self.log}")
        return found

    def text(self) -> str:
        with urllib.request.urlopen(self.url, timeout=60) as r:
            assert r.status == 200
            return r.read().decode("utf-8")

    def scrape(self) -> dict[str, list[Sample]]:
        """Every family's samples by family name, with HELP and TYPE checked."""
        out: dict[str, list[Sample]] = {}
        for fam in text_string_to_metric_families(self.text()):
            assert fam.documentation, f"{fam.name}: no HELP"
            assert fam.type in ("gauge", "counter"), f"{fam.name}: TYPE {fam.type}"
            out[fam.name] = list(fam.samples)
        return out

    def stop(self) -> int:
        """SIGTERM, then the exit status (and the rest of the log)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(20)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(10)
        self._reader.join(10)
        assert self.proc.stderr is not None
        self.proc.stderr.close()
        return rc


def values(samples: list[Sample], **labels: str) -> list[float]:
    """The values of the samples whose labels include ``labels``."""
    return [s.value for s in samples if all(s.labels.get(k) == v for k, v in labels.items())]


def value(samples: list[Sample], **labels: str) -> float:
    found = values(samples, **labels)
    assert len(found) == 1, (labels, samples)
    return found[0]


def wait_for(cond, timeout: float, what: str, step: float = 0.2):  # noqa: ANN001, ANN201
    """Call ``cond()`` until it returns something true; its result."""
    deadline = time.monotonic() + timeout
    while True:
        got = cond()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {timeout}s")
        time.sleep(step)
