"""RawScans as JSON, to keep what a backend really fetched as test data
(tests/data/vm-6.18-bpf/) and to rebuild it exactly (binary BPF records as
``{"hex": ...}``)."""

from __future__ import annotations

import json
from dataclasses import asdict, fields

from dmabuf_top.collect.rawscan import ProcText, RawScan

_BPF_FIELDS = ("bpf_buffers", "bpf_files", "bpf_vmas", "bpf_tasks")


def rawscan_to_json(raw: RawScan) -> str:
    doc = asdict(raw)
    for proc in doc["procs"]:
        proc["magic_fds"] = sorted(proc["magic_fds"])
    for name in _BPF_FIELDS:
        if isinstance(doc[name], bytes):
            doc[name] = {"hex": doc[name].hex()}
    return json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def _int_keys(d: dict) -> dict:
    return {int(k): v for k, v in d.items()}


def rawscan_from_json(text: str) -> RawScan:
    doc = json.loads(text)
    procs = []
    for p in doc.pop("procs"):
        for key in ("links", "fdinfo", "fd_inodes"):
            p[key] = _int_keys(p[key])
        p["magic_fds"] = set(p["magic_fds"])
        procs.append(ProcText(**p))
    doc["ancestor_stats"] = _int_keys(doc.get("ancestor_stats", {}))
    for name in _BPF_FIELDS:
        if isinstance(doc.get(name), dict):
            doc[name] = bytes.fromhex(doc[name]["hex"])
    known = {f.name for f in fields(RawScan)}
    raw = RawScan(**{k: v for k, v in doc.items() if k in known})
    raw.procs = procs
    if raw.dmabuf_dev is not None:
        raw.dmabuf_dev = tuple(raw.dmabuf_dev)  # type: ignore[assignment]
    if raw.sysfs is not None:
        raw.sysfs = [tuple(e) for e in raw.sysfs]  # type: ignore[misc]
    return raw
