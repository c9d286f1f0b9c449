"""The buffer entry of a snapshot document (schema ``dmabuf-top/1``), defined once:
per record type (buffer, holder, mapping) its keys in order, each with its type,
the model attribute it fills and its default. The YAML writer (yaml_emit), the fast
reader (yaml_parse), the quick and the careful readers (decode) and the plain-data
form (codec) all follow these tables; a new optional key is one line here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dmabuf_top.model import Buffer, GemHandle, Holder, MapRange

#: the kinds of value: an integer (decimal, or ``0x`` hex for addresses), an
#: integer or null, a string (a non-string is converted when read carefully), a
#: string or null, a boolean, lists of strings or integers, the holder's comm (from
#: the snapshot's processes, not the record) and a list of records
INT, OPT_INT, HEX, TEXT, OPT_TEXT, BOOL, STRS, INTS, COMM, RECORDS = (
    "int", "opt_int", "hex", "text", "opt_text", "bool", "strs", "ints", "comm", "records"
)
#: kinds that hold a list (their default is a new empty one)
LISTS = frozenset((STRS, INTS, RECORDS))


@dataclass(frozen=True)
class Field:
    """One key of a record."""

    key: str
    kind: str
    #: the value when the key is absent (None: required for INT and HEX)
    default: Any = None
    #: written only when not the default, so files without the key stay as they
    #: were (every key added after files existed)
    optional: bool = False
    #: the record type of a RECORDS list
    record: Record | None = None

    @property
    def required(self) -> bool:
        return self.kind in (INT, HEX) and self.default is None

    def empty(self) -> Any:
        """The default value, a new list for list kinds."""
        return [] if self.kind in LISTS else self.default


@dataclass(frozen=True)
class Record:
    """A record type: its model class (built with the keys as keyword arguments,
    COMM left out), its fields in the order written, and how a list of them names
    an entry in errors (``indexed``: ``where.key[i]``; else the list's owner)."""

    cls: type
    fields: tuple[Field, ...]
    indexed: bool = True

    def attrs(self) -> tuple[Field, ...]:
        """The fields that are model attributes (all but COMM)."""
        return tuple(f for f in self.fields if f.kind != COMM)


MAP = Record(MapRange, (
    Field("start", HEX),
    Field("end", HEX),
    Field("perms", TEXT, ""),
    Field("offset", HEX, 0),
), indexed=False)

HANDLE = Record(GemHandle, (
    Field("fd", INT),
    Field("handle", INT),
    Field("device", TEXT, ""),
    Field("driver", OPT_TEXT),
))

HOLDER = Record(Holder, (
    Field("pid", INT),
    Field("comm", COMM, ""),
    Field("fds", INTS),
    Field("maps", RECORDS, record=MAP),
    Field("handles", RECORDS, record=HANDLE, optional=True),
))

BUFFER = Record(Buffer, (
    Field("inode", INT),
    Field("exporter", OPT_TEXT),
    Field("name", OPT_TEXT),
    Field("size", INT),
    Field("count", OPT_INT),
    Field("heap", BOOL, False),
    Field("flags", OPT_INT),
    Field("mode", OPT_INT),
    Field("sources", STRS),
    Field("attachments", STRS),
    Field("fences", STRS),
    Field("holders", RECORDS, record=HOLDER),
))


#: the app axis of a process entry (``processes:``, a recording's processes): text
#: keys written only when known (files before them have none; they load as "")
APP_KEYS = ("user", "app", "cgroup")


def to_dict(rec: Record, obj: Any, comm: dict[int, str], hex_int: type[int]) -> dict[str, Any]:
    """``obj`` (a ``rec.cls``) as plain data, keys in order (optional keys only when
    not the default); HEX values as ``hex_int`` (written as ``0x...``); COMM from
    ``comm`` (pid -> comm)."""
    out: dict[str, Any] = {}
    for f in rec.fields:
        if f.kind == COMM:
            out[f.key] = comm.get(obj.pid, "")
            continue
        v = getattr(obj, f.key)
        if f.optional and v == f.empty():
            continue
        if f.kind == HEX:
            v = hex_int(v)
        elif f.kind == RECORDS:
            assert f.record is not None
            v = [to_dict(f.record, x, comm, hex_int) for x in v]
        elif f.kind in LISTS:
            v = list(v)
        out[f.key] = v
    return out
