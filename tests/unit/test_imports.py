"""Import hygiene, read from the source (ast), not by importing: no import cycle in
dmabuf_top, every module imports only its own layer or those below, textual (and
rich) only under tui/, and every module says in its first line what it holds."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "dmabuf_top"

#: layers from the bottom up; a module may import its own layer and those below
LAYERS = ["leaf", "collect", "analysis", "io", "report", "tui", "cli"]
LEAVES = {"dmabuf_top", "dmabuf_top.model", "dmabuf_top.units", "dmabuf_top.textsafe",
          "dmabuf_top.timefmt", "dmabuf_top.inflate"}
#: third-party packages allowed per layer (textual and rich are the TUI's alone)
UI_ONLY = {"textual", "rich"}


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(name: str, path: Path, known: set[str] | None = None) -> set[str]:
    """Every module named by an import anywhere in the file (functions and
    TYPE_CHECKING blocks included), as absolute names; ``from pkg import mod``
    names ``pkg.mod`` (not ``pkg``) when that is one of the ``known`` modules."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_pkg = path.name == "__init__.py"
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_pkg else name.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            subs = {f"{mod}.{a.name}" for a in node.names}
            if known is not None and subs <= known:
                out.update(subs)  # `from pkg import module`
            else:
                out.add(mod)
                out.update(subs)
    return out


def graph() -> dict[str, set[str]]:
    mods = modules()
    return {
        name: {m for m in imports_of(name, path, set(mods)) if m in mods and m != name}
        for name, path in mods.items()
    }


def layer(name: str) -> str:
    if name in LEAVES:
        return "leaf"
    if name == "dmabuf_top.__main__":  # `python -m dmabuf_top`: the command line
        return "cli"
    return name.split(".")[1]


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in g[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in g:
        if v not in index:
            visit(v)
    return out


def test_the_checker_finds_a_cycle():
    g = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(g) == [["a", "b", "c"]]


def test_no_import_cycles():
    assert cycles(graph()) == []


def test_every_module_is_in_a_known_layer():
    assert {layer(m) for m in modules()} <= set(LAYERS)


def test_layers_import_only_downwards():
    bad = [
        f"{m} ({layer(m)}) imports {d} ({layer(d)})"
        for m, deps in graph().items()
        for d in sorted(deps)
        if LAYERS.index(layer(d)) > LAYERS.index(layer(m))
        and not d.startswith(m + ".")  # a package's face may name its own modules
    ]
    assert bad == []


def test_textual_only_under_tui():
    mods = modules()
    bad = [
        f"{name} imports {m}"
        for name, path in mods.items()
        if layer(name) != "tui"
        for m in sorted(imports_of(name, path))
        if m.split(".")[0] in UI_ONLY
    ]
    assert bad == []


@pytest.mark.parametrize("name", sorted(modules()))
def test_first_line_says_what_the_module_holds(name):
    text = modules()[name].read_text(encoding="utf-8")
    first = text.splitlines()[0] if text else ""
    assert first.startswith('"""') and len(first.strip('"').strip()) >= 10, first


@pytest.mark.parametrize("name", sorted(modules()))
def test_modules_are_small(name):
    lines = modules()[name].read_text(encoding="utf-8").count("\n")
    assert lines <= 400, f"{name}: {lines} lines"


#: the TUI's modules that run without Textual (the refresh: scans, pause, pending work)
TEXTUAL_FREE = ["dmabuf_top.tui.refresher", "dmabuf_top.tui.session"]


@pytest.mark.parametrize("start", TEXTUAL_FREE)
def test_the_refresher_needs_no_textual(start):
    """The refresher, and every dmabuf_top module it imports (transitively), import
    neither textual nor rich: it can be driven and tested as a plain object."""
    mods = modules()
    seen, todo, bad = set(), [start], []
    while todo:
        name = todo.pop()
        if name in seen or name not in mods:
            continue
        seen.add(name)
        for m in sorted(imports_of(name, mods[name], set(mods))):
            if m.split(".")[0] in UI_ONLY:
                bad.append(f"{name} imports {m}")
            todo.append(m)
    assert "dmabuf_top.report.live_rows" in seen and bad == []
