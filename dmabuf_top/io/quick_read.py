"""The quick reader of a snapshot's buffer entries, compiled from the schema table
(:mod:`dmabuf_top.io.schema`) into straight-line code: it takes an entry whose every
value already has the exact type the writer writes (nearly all of them) and returns
the model record, or None for anything else (a value to convert, a bad type, an
integer past 64 bits), which :mod:`dmabuf_top.io.decode`'s careful reader then
decides, with its error messages."""

from __future__ import annotations

import dataclasses
from typing import Any

from dmabuf_top.io import schema

#: integers in a snapshot (sizes, inodes, addresses, pids) fit in 64 bits: what the
#: kernel prints; a bigger one would only overflow later (floats in the tables, Pss)
INT_LIMIT = 1 << 64


def _field_source(f: schema.Field, var: str, sub: str) -> list[str]:
    """Lines that read field ``f`` of ``d`` into ``var`` (``return None`` when it is
    not of the writer's type); ``sub`` names the reader of a RECORDS entry."""
    k, kind = repr(f.key), f.kind
    bad = "return None"
    in_range = f"-LIM < {var} < LIM"
    if kind in (schema.INT, schema.HEX):
        get = f"{var} = get({k})" if f.required else f"{var} = get({k}, {f.default!r})"
        return [get, f"if type({var}) is not int or not {in_range}: {bad}"]
    if kind == schema.OPT_INT:
        return [f"{var} = get({k})",
                f"if {var} is not None and (type({var}) is not int or not {in_range}): {bad}"]
    if kind == schema.TEXT:
        return [f"{var} = get({k}, {f.default!r})", f"if type({var}) is not str: {bad}"]
    if kind == schema.OPT_TEXT:
        return [f"{var} = get({k})", f"if {var} is not None and type({var}) is not str: {bad}"]
    if kind == schema.BOOL:
        return [f"{var} = get({k}, {f.default!r})", f"if type({var}) is not bool: {bad}"]
    if kind == schema.COMM:
        return [f"{var} = get({k})"]
    head = [f"{var} = get({k})", f"if {var} is None: {var} = []",
            f"elif type({var}) is not list: {bad}"]
    if kind == schema.STRS:
        return head + [f"elif {var} and set(map(type, {var})) != STR_ONLY: {bad}",
                       f"else: {var} = list({var})"]
    if kind == schema.INTS:
        return head + [
            f"elif {var} and (set(map(type, {var})) != INT_ONLY"
            f" or not -LIM < min({var}) <= max({var}) < LIM): {bad}",
            f"else: {var} = list({var})",
        ]
    return head + [
        "else:",
        "    out = []",
        f"    for x in {var}:",
        f"        o = {sub}(x, comms)",
        f"        if o is None: {bad}",
        "        out.append(o)",
        f"    {var} = out",
    ]


def _reader_source(rec: schema.Record, name: str, defs: list[str], scope: dict[str, Any]) -> None:
    body = ["if type(d) is not dict: return None", "get = d.get"]
    args = []
    for f in rec.fields:
        var, sub = f"v_{f.key}", f"{name}_{f.key}"
        if f.kind == schema.RECORDS:
            assert f.record is not None
            _reader_source(f.record, sub, defs, scope)
        body += _field_source(f, var, sub)
        if f.kind != schema.COMM:
            args.append(f"{f.key}={var}")
    comm = next((f for f in rec.fields if f.kind == schema.COMM), None)
    if comm is not None:
        body.append(f"if comms is not None and type(v_{comm.key}) is str: "
                    f"comms.setdefault(v_pid, v_{comm.key})")
    scope[f"{name}_cls"] = rec.cls
    # positionally, in the dataclass's order (a third faster than by keyword)
    order = [fl.name for fl in dataclasses.fields(rec.cls)]
    assert sorted(order) == sorted(a.split("=")[0] for a in args), rec.cls
    body.append(f"return {name}_cls({', '.join(f'v_{n}' for n in order)})")
    defs.append(f"def {name}(d, comms):\n    " + "\n    ".join(body) + "\n")


def compile_reader(rec: schema.Record) -> Any:
    """``read(d, comms)``: the ``rec`` record of entry ``d`` by the quick path, or
    None; holders' comms are added to ``comms`` (pid -> comm) when it is a dict."""
    defs: list[str] = []
    scope: dict[str, Any] = {"LIM": INT_LIMIT, "STR_ONLY": {str}, "INT_ONLY": {int}}
    _reader_source(rec, "_r", defs, scope)
    exec(compile("\n".join(defs), f"<schema reader {rec.cls.__name__}>", "exec"), scope)
    return scope["_r"]


read_buffer = compile_reader(schema.BUFFER)
