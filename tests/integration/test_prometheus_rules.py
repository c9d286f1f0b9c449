"""contrib/: the Prometheus rules pass ``promtool check rules`` and ``promtool test rules``
(on series contrib/prometheus/recording_series.py makes of a real recording, checked to
be still what it makes); the rules and the Grafana dashboard name only series a real
scrape of ``dmabuf-top serve`` has, or the rules define."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
import yaml

from tests.conftest import in_ci
from tests.support.paths import DATA, REPO
from tests.support.prometheus_harness import PrometheusError, binary
from tests.support.serve_harness import Exporter

CONTRIB = REPO / "contrib"
RULES = CONTRIB / "prometheus" / "dmabuf-rules.yml"
RULES_TEST = CONTRIB / "prometheus" / "tests" / "leak.test.yml"
CONVERTER = CONTRIB / "prometheus" / "recording_series.py"
DASHBOARD = CONTRIB / "grafana" / "dmabuf-top.json"
LEAK = DATA / "vm-6.1-leak.yaml"
#: series Prometheus makes itself, for every target
PROMETHEUS_SERIES = {"up"}
#: PromQL words that are not series names
PROMQL_WORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
                "group_left", "group_right", "inf", "nan"}


@pytest.fixture(scope="module")
def promtool() -> str:
    try:
        return binary("promtool")
    except PrometheusError as e:
        if in_ci():
            pytest.fail(str(e), pytrace=False)
        pytest.skip(str(e))


def series_names(expr: str) -> set[str]:
    """The series and rule names a PromQL expression reads (not its functions, label
    names, label values, durations or keywords)."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)  # strings (label values)
    expr = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", expr)  # matchers, ranges
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    names = set()
    for m in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*(\s*\()?", expr):
        word = m.group(0).rstrip("( ")
        if not m.group(1) and word.lower() not in PROMQL_WORDS:
            names.add(word)
    return names


def test_series_names_reads_only_series():
    assert series_names('topk(10, a:b:c{x=~"$d", pid!="other"}) * on(device) '
                        'group_left(model) info_x or vector(0)') == {"a:b:c", "info_x"}
    assert series_names("rate(dmabuf_scans_total[5m]) > bool 1") == {"dmabuf_scans_total"}


def rules() -> list[dict]:
    doc = yaml.safe_load(RULES.read_text())
    return [r for g in doc["groups"] for r in g["rules"]]


def test_promtool_checks_the_rules(promtool):
    r = subprocess.run([promtool, "check", "rules", str(RULES)], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0 and "SUCCESS" in r.stdout, r.stdout + r.stderr


def test_the_rules_test_series_are_the_recording_converted():
    r = subprocess.run([sys.executable, str(CONVERTER), str(LEAK)], capture_output=True,
                       text=True, timeout=120, cwd=str(REPO), env={"PYTHONPATH": str(REPO)})
    assert r.returncode == 0, r.stderr
    made = yaml.safe_load(r.stdout)["input_series"]
    committed = yaml.safe_load(RULES_TEST.read_text())["tests"][0]["input_series"]
    assert made == committed
    assert any(s["series"].startswith("dmabuf_process_rss_bytes{") and 'comm="leak-grow"'
               in s["series"] for s in made)
    bad = subprocess.run([sys.executable, str(CONVERTER), str(DATA / "none.yaml")],
                         capture_output=True, text=True, timeout=60, cwd=str(REPO),
                         env={"PYTHONPATH": str(REPO)})
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1, bad.stderr
    assert "Traceback" not in bad.stderr


def test_promtool_tests_the_rules_on_the_recording(promtool):
    r = subprocess.run([promtool, "test", "rules", RULES_TEST.name], capture_output=True,
                       text=True, timeout=120, cwd=str(RULES_TEST.parent))
    assert r.returncode == 0 and "SUCCESS" in r.stdout, r.stdout + r.stderr


def test_rules_and_dashboard_name_only_what_exists():
    exporter = Exporter("--load", str(LEAK), "--min-interval", "600")
    try:
        scraped = set(exporter.scrape())
    finally:
        assert exporter.stop() == 0, exporter.log
    # the parser's family names; a counter's series ends in _total
    scraped |= {f"{n}_total" for n in scraped}
    recorded = {r["record"] for r in rules() if "record" in r}
    for r in rules():
        unknown = series_names(r["expr"]) - scraped - recorded - PROMETHEUS_SERIES
        assert not unknown, (r.get("record") or r.get("alert"), unknown)

    dash = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    exprs += [v["definition"].replace("label_values(", "").split(",")[0]
              for v in dash["templating"]["list"] if v["type"] == "query"]
    assert len(exprs) > 10
    used: set[str] = set()
    for e in exprs:
        names = series_names(e)
        assert names, e
        assert not names - scraped - recorded, (e, names - scraped - recorded)
        used |= names
    # the dashboard shows the growth the alerts watch
    assert {"device_process:dmabuf_process_rss_bytes:deriv10m",
            "device_app:dmabuf_app_rss_bytes:deriv10m",
            "device_exporter:dmabuf_exporter_bytes:deriv10m"} <= used
