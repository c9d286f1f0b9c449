"""What two scans of one scene must agree on whichever source read them (the BPF
iterators or the /proc walk): a snapshot document without the fields only one
source can give (per-buffer sources, bufinfo's flags/mode/fences/attachments, the
kernel-wide source list) and without when and how long it took."""

from __future__ import annotations

from dmabuf_top.analysis.accounting import without_handles
from dmabuf_top.io.codec import snapshot_to_dict
from dmabuf_top.io.decode import snapshot_from_dict

#: per-buffer fields only debugfs bufinfo fills, and the list of who said what
SOURCE_ONLY_BUFFER_FIELDS = ("sources", "flags", "mode", "fences", "attachments")


def scan_fields(doc: dict) -> dict:
    """``doc`` (``snapshot_to_dict``) reduced to what every source must agree on."""
    return {
        "buffers": [
            {k: v for k, v in b.items() if k not in SOURCE_ONLY_BUFFER_FIELDS}
            for b in doc["buffers"]
        ],
        "processes": doc["processes"],
        "ancestors": doc.get("ancestors", []),
        "exporters": doc["exporters"],
        "totals": doc["totals"],
        "kernel_total_bytes": doc["kernel"]["total_bytes"],
        "heaps": doc["kernel"]["heaps"],
        "unreadable_pids": doc["unreadable_pids"],
    }


def fd_and_map_holders(doc: dict) -> dict:
    """``doc`` without GEM handles (which only the BPF scan sees): holders by fd or
    mapping only, and the accounting that follows from them."""
    return snapshot_to_dict(without_handles(snapshot_from_dict(doc)))
