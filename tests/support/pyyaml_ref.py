"""The YAML path before the fast writer and parser, for side-by-side checks and the
bench: PyYAML's (libyaml's when built) safe dumper with 0x addresses, and its safe
loader."""

from __future__ import annotations

from typing import Any

import yaml

from dmabuf_top.io.codec import snapshot_to_dict
from dmabuf_top.io.yamltext import HexInt
from dmabuf_top.model import Snapshot

_Dumper: type = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_Loader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _HexDumper(_Dumper):  # type: ignore[misc, valid-type]
    pass


def _represent_hex(dumper: yaml.SafeDumper, value: HexInt) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:int", hex(value))


_HexDumper.add_representer(HexInt, _represent_hex)


def pyyaml_dump(obj: Any) -> str:
    """YAML text as ``dump_yaml`` wrote it with PyYAML."""
    return yaml.dump(
        obj,
        Dumper=_HexDumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=1 << 16,
    )


def pyyaml_dump_snapshot(snap: Snapshot) -> str:
    """A snapshot file as ``dump_snapshot`` wrote it with PyYAML."""
    return pyyaml_dump(snapshot_to_dict(snap))


def pyyaml_load(text: str) -> Any:
    """One document with PyYAML's safe loader (libyaml's when built)."""
    return yaml.load(text, Loader=_Loader)
