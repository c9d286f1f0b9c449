"""``--once --format csv|json``: every view as data, the same numbers as the text table."""

from __future__ import annotations

import csv
import io
import json

import pytest

from dmabuf_top.cli import main
from dmabuf_top.io.codec import snapshot_to_dict
from dmabuf_top.io.loader import load_snapshots
from dmabuf_top.report.columns import VIEWS
from dmabuf_top.report.table import align
from dmabuf_top.textsafe import printable
from tests.support.paths import DATA

SNAPSHOTS = [DATA / "vm-6.1" / "snapshot.yaml", DATA / "adb" / "vm-6.1-root.yaml"]


def run(capsys, *argv: str) -> str:
    assert main(list(argv)) == 0
    return capsys.readouterr().out


def table_lines(out: str, view: str) -> list[str]:
    """The table of a ``--once`` text output: its header line and the rows under it."""
    lines = out.splitlines()
    table = lines[next(i for i, ln in enumerate(lines) if ln.startswith(VIEWS[view][0].title)) :]
    return table[: table.index("")]  # the blank line before the cost footer


def json_cells(view: str, row: dict) -> list[str]:
    """A JSON row as the text table shows it with --bytes (text escaped as shown)."""
    if view == "buffers":
        holders = ", ".join(f"{h['comm']}({h['pid']})" for h in row["holders"])
        cells = [str(row["inode"]), row["exporter"] or "?", str(row["size"]),
                 "-" if row["count"] is None else str(row["count"]), str(len(row["holders"])),
                 row["name"] or "", holders]
    elif view == "processes":
        cells = [str(row["pid"]), row.get("user", "-")]
        cells += [str(row[k]) for k in ("comm", "buffers", "fds", "maps", "rss", "pss")]
        cells += [row.get("app", "?"), row["cmdline"]]
    elif view == "apps":
        cells = [row["app"]] + [str(row[k]) for k in ("procs", "buffers", "rss", "pss")]
        cells.append(str(row["handle_bytes"] or "-"))
        cells += ["unavailable" if row[k] is None else str(row[k]) for k in ("dmem", "memcg_heap")]
    else:
        cells = [row["name"], str(row["buffers"]), str(row["bytes"]), f"{row['share']:.1f}%",
                 "heap" if row["heap"] else ""]
    return [printable(c) for c in cells]


@pytest.mark.parametrize("path", SNAPSHOTS, ids=lambda p: p.name)
@pytest.mark.parametrize("view", list(VIEWS))
def test_json_has_the_numbers_of_the_text_table(capsys, path, view):
    text = run(capsys, "--load", str(path), "--once", "--view", view, "--bytes")
    doc = json.loads(run(capsys, "--load", str(path), "--view", view, "--format", "json"))
    assert doc["schema"] == "dmabuf-top-table/1" and doc["view"] == view
    assert doc["rows"], "an empty view proves nothing"
    cols = VIEWS[view]
    right = {i for i, c in enumerate(cols) if c.kind != "text"}
    rebuilt = align([c.title for c in cols], [json_cells(view, r) for r in doc["rows"]], right)
    assert rebuilt == table_lines(text, view)  # every cell, in the same order


@pytest.mark.parametrize("path", SNAPSHOTS, ids=lambda p: p.name)
def test_json_uses_the_snapshot_schema(capsys, path):
    snap = snapshot_to_dict(load_snapshots(path)[0])
    for view, key in (("buffers", "buffers"), ("processes", "processes")):
        doc = json.loads(run(capsys, "--load", str(path), "--view", view, "--format", "json",
                             "--sort", "inode" if view == "buffers" else "pid"))
        assert doc["rows"] == json.loads(json.dumps(snap[key]))  # same fields, same numbers
        assert doc["totals"] == snap["totals"]
    doc = json.loads(run(capsys, "--load", str(path), "--view", "exporters", "--format", "json"))
    assert [{k: r[k] for k in ("name", "buffers", "bytes", "heap")} for r in doc["rows"]] == (
        snap["exporters"])


def test_csv(capsys):
    path = SNAPSHOTS[0]
    out = run(capsys, "--load", str(path), "--view", "processes", "--format", "csv")
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == [c.key for c in VIEWS["processes"]]
    doc = json.loads(run(capsys, "--load", str(path), "--view", "processes", "--format", "json"))
    assert [[int(r[0]), r[2], int(r[6]), int(r[7])] for r in rows[1:]] == [
        [p["pid"], p["comm"], p["rss"], p["pss"]] for p in doc["rows"]]
    # untrusted text stays escaped in csv; json keeps it exact, and ASCII
    out = run(capsys, "--load", str(path), "--format", "csv", "--sort", "inode")
    assert "\x1b" not in out and "[bold]evil\\e[31m[/bold]" in out
    raw = run(capsys, "--load", str(path), "--format", "json", "--sort", "inode")
    assert "\x1b" not in raw and "\\u001b" in raw
    names = {r["name"] for r in json.loads(raw)["rows"]}
    assert "[bold]evil\x1b[31m[/bold]" in names


def test_unknown_format_is_one_line(capsys):
    assert main(["--load", str(SNAPSHOTS[0]), "--format", "xml"]) == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'xml'" in err and err.count("\n") == 1
