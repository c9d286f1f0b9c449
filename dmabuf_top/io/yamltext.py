"""YAML text in the snapshot style: the safe dumper/loader (libyaml's when built),
0x addresses, and the one message for invalid YAML."""

from __future__ import annotations

from typing import Any

import yaml

try:  # libyaml is ~10x faster on big snapshots
    _Dumper: type = yaml.CSafeDumper
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on the PyYAML build
    _Dumper = yaml.SafeDumper
    _Loader = yaml.SafeLoader


class HexInt(int):
    """An int written as 0x... (addresses in maps)."""


class _HexDumper(_Dumper):  # type: ignore[misc, valid-type]
    pass


def _represent_hex(dumper: yaml.SafeDumper, value: HexInt) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:int", hex(value))


_HexDumper.add_representer(HexInt, _represent_hex)


def yaml_loader() -> type:
    """The safe YAML loader used for snapshots (libyaml's when available)."""
    return _Loader


def dump_yaml(obj: Any) -> str:
    """YAML text in the snapshot style (block style, keys in order, 0x addresses)."""
    return yaml.dump(
        obj,
        Dumper=_HexDumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=1 << 16,
    )


def invalid_yaml(where: str, err: Exception) -> str:
    """The one line for a document that is not valid YAML (or JSON)."""
    mark = getattr(err, "problem_mark", None)
    at = f" (line {mark.line + 1})" if mark is not None else ""
    problem = getattr(err, "problem", None) or str(err).split("\n")[0] or "invalid"
    return f"{where}: invalid YAML{at}: {problem}"
