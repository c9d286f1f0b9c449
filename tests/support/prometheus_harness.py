"""A real Prometheus server (Debian's ``prometheus`` binary) for the tests: on a
loopback port, with a temp config and TSDB, scraping every second the targets a test
adds (file service discovery: :meth:`Prometheus.scrape`), evaluating the shipped rules
(contrib/prometheus/dmabuf-rules.yml); queried over its HTTP API with PromQL."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from tests.support.paths import REPO
from tests.support.serve_harness import wait_for
from tests.support.vm.vm import free_port

RULES = REPO / "contrib" / "prometheus" / "dmabuf-rules.yml"
JOB = "dmabuf"


class PrometheusError(Exception):
    pass


def binary(name: str = "prometheus") -> str:
    """The path of Debian's ``prometheus`` (or ``promtool``); PrometheusError when absent."""
    path = shutil.which(name)
    if path is None:
        raise PrometheusError(f"no {name} binary (apt-get install prometheus)")
    return path


class Prometheus:
    """``prometheus`` on 127.0.0.1:PORT with its config, targets and TSDB in ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.targets = root / "targets.json"
        self._targets: dict[str, dict[str, str]] = {}
        self._write_targets()
        config = {
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s",
                       "evaluation_interval": "1s"},
            "rule_files": [str(RULES)],
            "scrape_configs": [{
                "job_name": JOB,
                "file_sd_configs": [{"files": [str(self.targets)], "refresh_interval": "1s"}],
            }],
        }
        (root / "prometheus.yml").write_text(json.dumps(config))  # JSON is YAML
        self.log = open(root / "prometheus.log", "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [binary(), f"--config.file={root / 'prometheus.yml'}",
             f"--storage.tsdb.path={root / 'data'}", f"--web.listen-address=127.0.0.1:{self.port}",
             "--storage.tsdb.retention.time=1h"],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
        )
        try:
            wait_for(self._ready, 120, "prometheus /-/ready")
        except AssertionError:
            self.stop()
            raise

    def _ready(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"prometheus exited: {self.log_text()}")
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=5) as r:
                return r.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def log_text(self) -> str:
        self.log.flush()
        return (self.root / "prometheus.log").read_text(errors="replace")[-4000:]

    def _write_targets(self) -> None:
        groups = [{"targets": [t], "labels": labels} for t, labels in self._targets.items()]
        tmp = self.targets.with_suffix(".tmp")
        tmp.write_text(json.dumps(groups))
        os.replace(tmp, self.targets)  # whole, never half-written, for the file watcher

    def scrape(self, url: str, timeout: float = 120, every: str = "", **labels: str) -> str:
        """Scrape ``url`` (an Exporter's .../metrics) from now on, with ``labels`` (and
        ``every`` "5s": that interval and timeout instead of 1 s); waits until Prometheus
        has scraped it successfully (``up == 1``). Its instance label."""
        instance = urllib.parse.urlsplit(url).netloc
        if every:
            labels = dict(labels, __scrape_interval__=every, __scrape_timeout__=every)
        self._targets[instance] = labels
        self._write_targets()
        wait_for(lambda: self.query(f'up{{instance="{instance}"}} == 1'), timeout,
                 f"up == 1 for {instance}", step=0.3)
        return instance

    def forget(self, instance: str) -> None:
        """Stop scraping ``instance``."""
        self._targets.pop(instance, None)
        self._write_targets()

    def query(self, promql: str) -> list[dict]:
        """The instant vector ``promql`` gives now: [{"metric": {...}, "value": [t, "v"]}]."""
        q = urllib.parse.urlencode({"query": promql})
        with urllib.request.urlopen(f"{self.url}/api/v1/query?{q}", timeout=30) as r:
            doc = json.load(r)
        if doc.get("status") != "success":
            raise PrometheusError(f"{promql}: {doc}")
        return doc["data"]["result"]

    def values(self, promql: str, by: str) -> dict[str, float]:
        """label ``by`` -> value of each series of ``promql``."""
        return {s["metric"].get(by, ""): float(s["value"][1]) for s in self.query(promql)}

    def value(self, promql: str) -> float:
        """The one value of ``promql``."""
        found = self.query(promql)
        assert len(found) == 1, (promql, found)
        return float(found[0]["value"][1])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.log.close()
