"""YAML text in the snapshot style: the one writer (:mod:`dmabuf_top.io.yaml_emit`),
reading with the fast parser of that writer's text (:mod:`dmabuf_top.io.yaml_parse`)
and PyYAML's safe loader for any other YAML (aliases refused: see :func:`_no_alias`),
and the one message for invalid YAML."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import yaml

from dmabuf_top.io.yaml_emit import HexInt, dump_yaml
from dmabuf_top.io.yaml_parse import NotOurs, parse

__all__ = ["HexInt", "dump_yaml", "invalid_yaml", "load_all", "load_one"]

#: an escaped UTF-16 surrogate (how the writer keeps a non-UTF-8 byte of a
#: name): libyaml refuses it, PyYAML's pure-Python loader reads it
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _safe_loader(text: str) -> type:
    """PyYAML's safe loader for ``text``: libyaml's (~10x faster) when built and
    able to read it."""
    fast = getattr(yaml, "CSafeLoader", None)
    if fast is None or _SURROGATE_ESCAPE.search(text):
        return yaml.SafeLoader
    return fast


class AliasError(yaml.MarkedYAMLError):
    """A YAML alias (``*name``) in a file to load: refused."""


#: why an alias is refused (the writer never writes one; nested aliases expand to
#: billions of nodes, "billion laughs", and hang whatever walks the data)
ALIAS_PROBLEM = "aliases (*name) are not allowed: dmabuf-top never writes them"


def _no_alias(node: yaml.Node) -> yaml.Node:
    """``node`` when no node under it is reached twice (what an alias does in
    PyYAML's node graph); AliasError at the first that is. Each node is visited
    at most once, so a file of nested aliases is refused in time linear in its size."""
    seen: set[int] = set()
    stack = [node]
    while stack:
        n = stack.pop()
        if id(n) in seen:
            raise AliasError(None, None, ALIAS_PROBLEM, n.start_mark)
        seen.add(id(n))
        if isinstance(n, yaml.MappingNode):
            stack.extend(x for pair in n.value for x in pair)
        elif isinstance(n, yaml.SequenceNode):
            stack.extend(n.value)
    return node


#: why a document nested deeper than the pure-Python loader's recursion is refused
#: (libyaml stops at its own depth limit; PyYAML's loader recurses per level)
NESTING_PROBLEM = "nested too deeply"


def _library_documents(text: str) -> Iterator[Any]:
    """PyYAML's safe loading of every document, each refused when it holds an alias
    or is nested deeper than the loader can recurse (a YAMLError, never a
    RecursionError)."""
    loader = _safe_loader(text)(text)
    try:
        while True:
            try:
                if not loader.check_node():
                    return
                doc = loader.construct_document(_no_alias(loader.get_node()))
            except RecursionError:
                raise yaml.MarkedYAMLError(None, None, NESTING_PROBLEM, None) from None
            yield doc
    finally:
        loader.dispose()


def load_one(text: str) -> Any:
    """The one document of ``text``; raises ``yaml.YAMLError`` when it is not YAML
    (or holds an alias, :class:`AliasError`)."""
    try:
        return parse(text)
    except NotOurs:
        pass
    loader = _safe_loader(text)(text)
    try:
        node = loader.get_single_node()
        return None if node is None else loader.construct_document(_no_alias(node))
    except RecursionError:
        raise yaml.MarkedYAMLError(None, None, NESTING_PROBLEM, None) from None
    finally:
        loader.dispose()


def load_all(text: str) -> Iterator[Any]:
    """Every document of ``text`` in order; raises ``yaml.YAMLError`` at the
    first that is not YAML or holds an alias (after yielding those before it)."""
    try:
        doc = parse(text)
    except NotOurs:
        yield from _library_documents(text)
        return
    yield doc


def invalid_yaml(where: str, err: Exception) -> str:
    """The one line for a document that is not valid YAML (or JSON)."""
    mark = getattr(err, "problem_mark", None)
    at = f" (line {mark.line + 1})" if mark is not None else ""
    if isinstance(err, UnicodeError):  # a lone surrogate (text decoded carelessly)
        return f"{where}: invalid text{at}: not UTF-8"
    problem = getattr(err, "problem", None) or str(err).split("\n")[0] or "invalid"
    return f"{where}: invalid YAML{at}: {problem}"
