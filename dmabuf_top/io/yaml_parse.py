"""A fast reader for exactly the YAML that :mod:`dmabuf_top.io.yaml_emit` writes
(block mappings and sequences, one scalar per line, plain or double-quoted). It
returns the same data as ``yaml.safe_load`` or raises :class:`NotOurs` for any
other text (flow style, comments, anchors, tags, other quoting or indentation,
YAML 1.1 words...): the caller then reads it with a YAML library."""

from __future__ import annotations

import re
from typing import Any

from dmabuf_top.io import schema
from dmabuf_top.io.yaml_emit import PLAIN, RESERVED
from dmabuf_top.textsafe import FORMAT_CHARS


class NotOurs(Exception):
    """The text is not in the writer's style (not necessarily invalid YAML)."""


_INT = re.compile(r"-?(?:0|[1-9][0-9]*)")
_HEX = re.compile(r"-?0x[0-9a-f]+")
_FLOAT = re.compile(r"-?[0-9]+\.[0-9]+(?:e[-+][0-9]+)?")
#: a double-quoted scalar at the start of a text (escapes of one character each
#: or \x.. \u.... \U........), and what may follow it
_QUOTED = re.compile(
    rf'"((?:[^"\\\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff{FORMAT_CHARS}]'
    r'|\\(?:[0abtnvfre"\\NLP]|x[0-9A-F]{2}|u[0-9A-F]{4}|U[0-9A-F]{8}))*)"'
)
_UNESCAPE = re.compile(
    r"\\(?:([0abtnvfre\"\\NLP])|x([0-9A-F]{2})|u([0-9A-F]{4})|U([0-9A-F]{8}))"
)
_SHORT = {
    "0": "\0", "a": "\a", "b": "\b", "t": "\t", "n": "\n", "v": "\v", "f": "\f",
    "r": "\r", "e": "\x1b", '"': '"', "\\": "\\", "N": "\x85", "L": "\u2028", "P": "\u2029",
}
_WORDS: dict[str, Any] = {"null": None, "true": True, "false": False}
_FLOATS = {".nan": float("nan"), ".inf": float("inf"), "-.inf": float("-inf")}


def _unescape(m: re.Match[str]) -> str:
    short, x, u, big = m.groups()
    return _SHORT[short] if short else chr(int(x or u or big, 16))


def _quoted(body: str) -> str:
    return _UNESCAPE.sub(_unescape, body) if "\\" in body else body


def _plain(text: str, _ok: dict[str, str] = {}) -> str:  # noqa: B006 - a memo
    """``text`` as a plain string, when the writer would have written it so."""
    if text in _ok:
        return text
    if not PLAIN.fullmatch(text) or text in RESERVED:
        raise NotOurs(text)
    if len(_ok) < 1 << 16:
        _ok[text] = text
    return text


def scalar(text: str) -> Any:
    """The value of one scalar as the writer writes it."""
    c = text[:1]
    if c == '"':
        m = _QUOTED.fullmatch(text)
        if m is None:
            raise NotOurs(text)
        return _quoted(m.group(1))
    if c.isdigit() or c == "-":
        if _INT.fullmatch(text):
            return int(text)
        if _HEX.fullmatch(text):
            return int(text, 16)
        if _FLOAT.fullmatch(text):
            return float(text)
        if text == "-.inf":
            return _FLOATS[text]
        raise NotOurs(text)
    if text in _WORDS:
        return _WORDS[text]
    if text == "[]":
        return []
    if text == "{}":
        return {}
    if text in _FLOATS:
        return _FLOATS[text]
    return _plain(text)


def _entry(body: str) -> tuple[Any, str | None]:
    """(key, value text or None when the value is on the lines below) of a
    mapping entry ``key: value`` / ``key:``; NotOurs when it is not one."""
    if body[0] == '"':
        m = _QUOTED.match(body)
        if m is None:
            raise NotOurs(body)
        key: Any = _quoted(m.group(1))
        rest = body[m.end() :]
    else:
        k, sep, v = body.partition(": ")
        if sep:
            return _plain(k), v
        if body[-1] != ":":
            raise NotOurs(body)
        return _plain(body[:-1]), None
    if rest == ":":
        return key, None
    if rest[:2] != ": " or len(rest) < 3:
        raise NotOurs(body)
    return key, rest[2:]


def _is_entry(body: str) -> bool:
    """Whether a sequence item ``- body`` starts a mapping (else it is a scalar)."""
    if body[0] == '"':
        m = _QUOTED.match(body)
        return m is not None and m.end() < len(body)
    return ": " in body or body[-1] == ":"


def _block(lines: list[str], i: int, ind: int) -> tuple[Any, int]:
    """The value below a ``key:`` line at indent ``ind``: a mapping at ind + 2 or
    a sequence at ind."""
    if i < len(lines):
        line = lines[i]
        if line.startswith(" " * ind + "-"):
            return _sequence(lines, i, ind)
        if line.startswith(" " * (ind + 2)):
            return _mapping(lines, i, ind + 2, {})
    raise NotOurs("a key with no value")


def _value(lines: list[str], i: int, ind: int, text: str | None) -> tuple[Any, int]:
    return _block(lines, i, ind) if text is None else (scalar(text), i)


def _mapping(lines: list[str], i: int, ind: int, out: dict[Any, Any]) -> tuple[Any, int]:
    n = len(lines)
    prefix = " " * ind
    while i < n:
        line = lines[i]
        if not line.startswith(prefix):
            break  # a shallower line: the mapping ended
        body = line[ind:]
        if not body or body[0] in " -":
            break
        key, text = _entry(body)
        if key in out:
            raise NotOurs("duplicate key")
        out[key], i = _value(lines, i + 1, ind, text)
    return out, i


def _sequence(lines: list[str], i: int, ind: int) -> tuple[list[Any], int]:
    out: list[Any] = []
    n = len(lines)
    dash = " " * ind + "- "
    while i < n:
        line = lines[i]
        if not line.startswith(dash):
            if line == dash[:-1]:  # "-" alone: a nested sequence below
                item, i = _sequence(lines, i + 1, ind + 2)
                out.append(item)
                continue
            break
        body = line[ind + 2 :]
        if not body or body[0] == " ":
            raise NotOurs(line)
        if _is_entry(body):
            key, text = _entry(body)
            first, j = _value(lines, i + 1, ind + 2, text)
            item, i = _mapping(lines, j, ind + 2, {key: first})
        else:
            item, i = scalar(body), i + 1
        out.append(item)
    return out, i


def _lines(text: str) -> list[str]:
    if not text.endswith("\n") or "\r" in text or "\t" in text:
        raise NotOurs("not the writer's text")
    lines = text.split("\n")
    lines.pop()
    return lines


def parse_generic(text: str) -> Any:
    """Any document the writer writes (no ``---`` line), line by line."""
    if text == "{}\n":
        return {}
    lines = _lines(text)
    if lines and lines[0][:1] == "-":
        doc, i = _sequence(lines, 0, 0)
    else:
        doc, i = _mapping(lines, 0, 0, {})
    if i != len(lines) or not lines:
        raise NotOurs("text after the document")
    return doc


# ------------------------------------------------- a snapshot's buffers, by regex

_L = r"([^\n]*)\n"


def _field_re(f: schema.Field, lead: str, ind: str) -> str:
    """The pattern of one key of a record (one group: its text, or its block of
    lines for a list), starting with ``lead`` (the dash line) or ``ind``."""
    key = re.escape(f.key)
    if f.kind == schema.RECORDS:
        block = rf"((?:{ind}- [^\n]*\n(?:{ind}  [^\n]*\n)*)+)"
    elif f.kind in schema.LISTS:
        block = rf"((?:{ind}- [^\n]*\n)+)"
    else:
        pat = rf"{lead}{key}: {_L}"
        return f"(?:{pat})?" if f.optional else pat
    if f.optional:  # only written when not empty
        return rf"(?:{lead}{key}:\n{block})?"
    return rf"{lead}{key}:(?: \[\]\n|\n{block})"


def _record_re(rec: schema.Record, ind: str) -> re.Pattern[str]:
    """One entry of a list of ``rec`` at indent ``ind``, as the writer writes it."""
    inner = ind + "  "
    parts = [_field_re(f, f"{ind}- " if i == 0 else inner, inner) for i, f in enumerate(rec.fields)]
    return re.compile("".join(parts))


def _items(block: str | None, skip: int, val: _Values) -> list[Any]:
    """The items of a block list whose lines are ``skip`` characters of indent and dash."""
    if block is None:
        return []
    return [val[line[skip:]] for line in block.split("\n")[:-1]]


def _converter(rec: schema.Record, ind: str) -> Any:
    """``convert(groups, val)``: the entry's dict from its pattern's groups, compiled
    from the schema table (an optional key is left out when absent, as a YAML reader
    leaves it)."""
    inner = ind + "  "
    body, scope = ["d = {}"], {"_items": _items, "_records": _records}
    for i, f in enumerate(rec.fields):
        k, g = repr(f.key), f"g[{i}]"
        if f.kind == schema.RECORDS:
            scope[f"R{i}"] = f.record
            value = f"_records(R{i}, {g}, {inner!r}, val) if {g} is not None else []"
        elif f.kind in schema.LISTS:
            value = f"_items({g}, {len(inner) + 2}, val)"
        else:
            value = f"val[{g}]"
        body.append(f"if {g} is not None: d[{k}] = {value}" if f.optional else f"d[{k}] = {value}")
    body.append("return d")
    src = "def convert(g, val):\n    " + "\n    ".join(body) + "\n"
    exec(compile(src, f"<schema parser {rec.cls.__name__}>", "exec"), scope)
    return scope["convert"]


_READERS: dict[tuple[int, str], tuple[re.Pattern[str], Any]] = {}


def _records(rec: schema.Record, block: str, ind: str, val: _Values) -> list[dict[str, Any]]:
    """The entries of a list of ``rec`` records at indent ``ind`` (the whole block)."""
    got = _READERS.get((id(rec), ind))
    if got is None:
        got = _READERS[(id(rec), ind)] = (_record_re(rec, ind), _converter(rec, ind))
    pattern, convert = got
    match = pattern.match
    out = []
    pos, end = 0, len(block)
    while pos < end:
        m = match(block, pos)
        if m is None:
            raise NotOurs("an entry not in the writer's style")
        out.append(convert(m.groups(), val))
        pos = m.end()
    return out


#: where the top-level ``buffers:`` section starts, and what ends it
_SECTION = re.compile(r"^buffers:\n(?=- )", re.M)
_TOP_KEY = re.compile(r"\n[^ \-]")


class _Values(dict[str, Any]):
    """scalar() of each text, remembered (texts repeat: names, sizes, pids)."""

    def __missing__(self, text: str) -> Any:
        value = scalar(text)
        if not isinstance(value, (list, dict)):  # [] and {} are new each time
            self[text] = value
        return value


def parse(text: str) -> Any:
    """The one document of ``text`` (an optional ``---`` line first) as
    ``yaml.safe_load`` reads it; NotOurs when the text is not the writer's. A
    snapshot's ``buffers:`` (most of its lines) are read by regular expressions."""
    if text.startswith("---\n"):
        text = text[4:]
    sec = _SECTION.search(text)
    if sec is None:
        return parse_generic(text)
    top = _TOP_KEY.search(text, sec.end() - 1)
    end = top.start() + 1 if top else len(text)
    try:
        buffers = _records(schema.BUFFER, text[sec.end():end], "", _Values())
    except NotOurs:
        return parse_generic(text)
    doc = parse_generic(text[: sec.start()] + "buffers: []\n" + text[end:])
    if not isinstance(doc, dict) or doc.get("buffers") != []:
        raise NotOurs("buffers: not a top-level key")
    doc["buffers"] = buffers
    return doc
