"""The YAML writer of every file and ``--format yaml`` document: block style, keys in
order, 0x addresses, and quoting that keeps any string (untrusted names, comm,
cmdline; surrogateescape'd bytes) the same string for every YAML 1.1 reader.

Strings are written plain only when they cannot mean anything else: they start
with a letter, ``_`` or ``/``, hold no character that YAML treats specially, and
are not a YAML 1.1 boolean/null word; every other string is double-quoted with
escapes for everything outside printable text (so each document is one line per
scalar). :mod:`dmabuf_top.io.yaml_parse` reads exactly this style back fast;
``yaml.safe_load`` reads it to the same data.
"""

from __future__ import annotations

import math
import re
from typing import Any

from dmabuf_top.io import schema
from dmabuf_top.model import Buffer
from dmabuf_top.textsafe import FORMAT_CHARS


class HexInt(int):
    """An int written as 0x... (addresses in maps)."""


#: what a plain scalar may be: a letter, ``_`` or ``/`` first, then letters,
#: digits, ``_./@+,()=-`` and non-ASCII text but no format character (bidi,
#: zero-width), single inner spaces, ``:`` only between two such characters
#: (never ``: `` or a final ``:``)
_C = (
    r"[A-Za-z0-9_./@+,()=\-"
    r"\u00a1-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
)
PLAIN = re.compile(rf"(?![^\n]*[{FORMAT_CHARS}])[A-Za-z_/](?:{_C}|:(?={_C})| (?=[^ ]))*")
#: YAML 1.1 words that a plain scalar would turn into a bool or null (and the
#: one-letter forms of older readers)
RESERVED = frozenset(
    "y Y n N yes Yes YES no No NO true True TRUE false False FALSE on On ON off Off OFF "
    "null Null NULL".split()
)
#: characters written as an escape inside double quotes: so a document shown on a
#: terminal carries no control, bidi override or invisible character, and reads back
#: to the same string
_ESCAPED = re.compile(
    rf'["\\\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff{FORMAT_CHARS}]'
)
_SHORT = {
    "\0": "\\0", "\a": "\\a", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\v": "\\v",
    "\f": "\\f", "\r": "\\r", "\x1b": "\\e", '"': '\\"', "\\": "\\\\", "\x85": "\\N",
    "\u2028": "\\L", "\u2029": "\\P",
}
#: keys longer than this are written as ``? key`` (YAML readers limit simple keys)
_KEY_LIMIT = 128


def _escape(m: re.Match[str]) -> str:
    c = m.group()
    short = _SHORT.get(c)
    if short is not None:
        return short
    n = ord(c)
    if n < 0x100:
        return f"\\x{n:02X}"
    return f"\\u{n:04X}" if n < 0x10000 else f"\\U{n:08X}"


def quote(s: str) -> str:
    """``s`` double-quoted, every non-printable character escaped."""
    return '"' + _ESCAPED.sub(_escape, s) + '"'


def string(s: str, _cache: dict[str, str] = {}) -> str:  # noqa: B006 - a memo
    """The YAML text of a string: plain when that is unambiguous, else quoted."""
    out = _cache.get(s)
    if out is None:
        out = s if PLAIN.fullmatch(s) and s not in RESERVED else quote(s)
        if len(_cache) < 1 << 16:
            _cache[s] = out
    return out


def _float(v: float) -> str:
    if math.isnan(v):
        return ".nan"
    if math.isinf(v):
        return ".inf" if v > 0 else "-.inf"
    text = repr(v).lower()
    if "." not in text and "e" in text:  # 1e-05 is a string in YAML 1.1
        text = text.replace("e", ".0e", 1)
    return text


def scalar(v: Any) -> str:
    """The YAML text of a string, int (HexInt as 0x...), float, bool or None."""
    if isinstance(v, str):
        return string(v)
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, HexInt):
        return hex(v)
    if isinstance(v, int):
        return str(int(v))
    if isinstance(v, float):
        return _float(v)
    raise TypeError(f"cannot write {type(v).__name__} as YAML")


def _key(k: Any) -> tuple[str, bool]:
    text = scalar(k)
    return text, len(text) <= _KEY_LIMIT


def _mapping(d: dict[Any, Any], ind: str, out: list[str], comm: dict[int, str]) -> None:
    for k, v in d.items():
        key, simple = _key(k)
        if not simple:
            out.append(f"{ind}? {key}\n")
            key = ""
        if isinstance(v, dict):
            if v:
                out.append(f"{ind}{key}:\n")
                _mapping(v, ind + "  ", out, comm)
            else:
                out.append(f"{ind}{key}: {{}}\n")
        elif isinstance(v, (list, tuple)):
            if v:
                out.append(f"{ind}{key}:\n")
                _sequence(v, ind, out, comm)
            else:
                out.append(f"{ind}{key}: []\n")
        else:
            out.append(f"{ind}{key}: {scalar(v)}\n")


def _sequence(items: Any, ind: str, out: list[str], comm: dict[int, str]) -> None:
    inner = ind + "  "
    for v in items:
        if isinstance(v, Buffer):
            buffer_lines(v, comm, out)
        elif isinstance(v, dict) and v:
            # the first key goes on the dash line: render at inner, then swap the indent
            at = len(out)
            _mapping(v, inner, out, comm)
            out[at] = f"{ind}- {out[at][len(inner):]}"
        elif isinstance(v, (list, tuple)) and v:
            out.append(f"{ind}-\n")
            _sequence(v, inner, out, comm)
        elif isinstance(v, (dict, list, tuple)):
            out.append(f"{ind}- {'{}' if isinstance(v, dict) else '[]'}\n")
        else:
            out.append(f"{ind}- {scalar(v)}\n")


def _opt_int(v: int | None) -> str:
    return "null" if v is None else str(v)


def _opt_str(v: str | None) -> str:
    return "null" if v is None else string(v)


#: the f-string expression of one scalar of each kind (``{0}``: the value)
_SCALAR_EXPR = {
    schema.INT: "{{{0}}}", schema.OPT_INT: "{{_opt_int({0})}}", schema.HEX: "{{hex({0})}}",
    schema.TEXT: "{{string({0})}}", schema.OPT_TEXT: "{{_opt_str({0})}}",
    schema.BOOL: "{{'true' if {0} else 'false'}}",
}


def _writer_source(rec: schema.Record, ind: str, name: str, defs: list[str]) -> None:
    """Python source of ``name(o, comm, out)``, which appends one entry of a list
    of ``rec`` at indent ``ind`` (and of the writers of its nested records) to
    ``defs``: the schema table as straight-line code, as fast as written by hand."""
    inner = ind + "  "
    body: list[str] = []
    #: f-string pieces of consecutive scalars, one append (repr() quotes them with
    #: double quotes: the expressions hold single ones only, never a backslash)
    run: list[str] = []
    first = True
    for f in rec.fields:
        lead = f"{ind}- " if first else inner
        key, val = f.key, f"o.{f.key}"
        if f.kind == schema.COMM:
            run.append(f"{lead}{key}: {{string(comm.get(o.pid, ''))}}\n")
        elif f.kind in _SCALAR_EXPR and not f.optional:
            run.append(f"{lead}{key}: " + _SCALAR_EXPR[f.kind].format(val) + "\n")
        else:
            assert not first, "a record starts with a required scalar"
            if run:
                body.append(f"out.append(f{''.join(run)!r})")
                run = []
            lines: list[str]
            if f.kind in schema.LISTS:
                empty, head = f"{inner}{key}: []\n", f"{inner}{key}:\n"
                if f.kind == schema.RECORDS:
                    assert f.record is not None
                    sub = f"{name}_{key}"
                    _writer_source(f.record, inner, sub, defs)
                    items = [f"    out.append({head!r})", f"    for x in {val}:",
                             f"        {sub}(x, comm, out)"]
                else:
                    item = "{x}" if f.kind == schema.INTS else "{string(x)}"
                    each = f"f{(inner + '- ' + item + chr(10))!r}"
                    items = [f"    out.append({head!r} + ''.join([{each} for x in {val}]))"]
                lines = ([f"if {val}:", *items] if f.optional
                         else [f"if not {val}:", f"    out.append({empty!r})", "else:", *items])
            else:
                text = f"{inner}{key}: " + _SCALAR_EXPR[f.kind].format(val) + "\n"
                lines = [f"out.append(f{text!r})"]
                if f.optional:
                    lines = [f"if {val} != {f.default!r}:", *("    " + ln for ln in lines)]
            body += lines
        first = False
    if run:
        body.append(f"out.append(f{''.join(run)!r})")
    defs.append(f"def {name}(o, comm, out):\n    " + "\n    ".join(body) + "\n")


def _compile_writer(rec: schema.Record, ind: str) -> Any:
    defs: list[str] = []
    _writer_source(rec, ind, "_w", defs)
    scope: dict[str, Any] = {
        "_opt_int": _opt_int, "_opt_str": _opt_str, "string": string,
    }
    exec(compile("\n".join(defs), f"<schema writer {rec.cls.__name__}>", "exec"), scope)
    return scope["_w"]


_write_buffer = _compile_writer(schema.BUFFER, "")


def buffer_lines(b: Buffer, comm: dict[int, str], out: list[str]) -> None:
    """One entry of a snapshot's ``buffers:`` straight from the model (the same
    text as ``codec.buffer_to_dict`` written by :func:`dump_yaml`, only faster)."""
    _write_buffer(b, comm, out)


def dump_yaml(doc: dict[Any, Any], comm: dict[int, str] | None = None) -> str:
    """``doc`` (plain data: dict, list, str, int, float, bool, None; Buffer
    objects in a list, written with ``comm`` as pid -> comm) as block YAML."""
    if not doc:
        return "{}\n"
    out: list[str] = []
    _mapping(doc, "", out, comm or {})
    return "".join(out)
