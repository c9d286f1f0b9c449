"""YAML text in the snapshot style: the one writer (:mod:`dmabuf_top.io.yaml_emit`),
reading with the fast parser of that writer's text (:mod:`dmabuf_top.io.yaml_parse`)
and PyYAML's safe loader for any other YAML, and the one message for invalid YAML."""

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


def load_one(text: str) -> Any:
    """The one document of ``text``; raises ``yaml.YAMLError`` when it is not YAML."""
    try:
        return parse(text)
    except NotOurs:
        return yaml.load(text, Loader=_safe_loader(text))


def load_all(text: str) -> Iterator[Any]:
    """Every document of ``text`` in order; raises ``yaml.YAMLError`` at the
    first that is not YAML (after yielding those before it)."""
    try:
        doc = parse(text)
    except NotOurs:
        yield from yaml.load_all(text, Loader=_safe_loader(text))
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
