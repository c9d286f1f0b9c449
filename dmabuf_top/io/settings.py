"""The TUI's settings file, ``$XDG_CONFIG_HOME/dmabuf-top/config.yaml`` (default
``~/.config``): theme, view, sort and hidden columns per view, the Processes view as a
tree or a list, refresh interval, units, how many events the events view keeps.
A strict reader (a broken or hostile file is one :class:`SettingsError` line, never
a partial result) and an atomic writer; which views and columns exist is the caller's.
:func:`read_config_file` reads it and the theme files (bounded, regular files only, no
link another user made when root reads in their directory)."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dmabuf_top.io.atomic import write_atomic
from dmabuf_top.io.errors import SnapshotError
from dmabuf_top.io.yamltext import dump_yaml, invalid_yaml, load_one
from dmabuf_top.textsafe import is_printable, printable, shown_line

UNITS = ("human", "bytes")
#: the refresh interval the file may ask for, in seconds
INTERVAL_RANGE = (0.1, 3600.0)
#: a settings file is a few hundred bytes: anything far bigger is not one
MAX_BYTES = 64 * 1024
#: how many events the events view may be asked to keep
EVENTS_RANGE = (10, 100_000)
_KEYS = ("theme", "view", "interval", "units", "sort", "hidden_columns", "tree", "events")


class SettingsError(ValueError):
    """A settings file that cannot be used; str() is one printable line naming it."""


class ForeignDirectory(SettingsError):
    """Root would write the settings into a directory another user owns (``sudo -E``
    keeps the user's HOME): not saved, and not tried again."""


@dataclass
class Settings:
    """What the file holds; None / empty: not set (the app's default stands)."""

    theme: str | None = None
    view: str | None = None
    interval: float | None = None
    units: str | None = None
    #: per view: (column key, reversed)
    sort: dict[str, tuple[str, bool]] = field(default_factory=dict)
    #: per view: the column keys not shown
    hidden_columns: dict[str, list[str]] = field(default_factory=dict)
    #: the Processes view as a tree (t / F5)
    tree: bool | None = None
    #: the events view (6): the most recent events it shows
    events: int | None = None


def config_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CONFIG_HOME/dmabuf-top`` (a relative XDG_CONFIG_HOME is ignored, as the
    XDG spec says), else ``~/.config/dmabuf-top``."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_CONFIG_HOME") or ""
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".config"
    return root / "dmabuf-top"


def settings_path(environ: Mapping[str, str] | None = None) -> Path:
    return config_dir(environ) / "config.yaml"


def _word(doc: Mapping[str, Any], key: str, where: str) -> str | None:
    v = doc.get(key)
    if v is None:
        return None
    if not isinstance(v, str) or not v or len(v) > 64 or not is_printable(v) or " " in v:
        raise SettingsError(f"{where}: '{key}' must be a name (one word)")
    return v


def _view(name: Any, views: Mapping[str, Collection[str]], where: str, key: str) -> str:
    if not isinstance(name, str) or name not in views:
        raise SettingsError(f"{where}: '{key}': unknown view (views: {', '.join(views)})")
    return name


def _column(view: str, name: Any, views: Mapping[str, Collection[str]], where: str) -> str:
    if not isinstance(name, str) or name not in views[view]:
        raise SettingsError(
            f"{where}: unknown {view} column (columns: {', '.join(views[view])})"
        )
    return name


def _mapping(v: Any, where: str, key: str) -> Mapping[Any, Any]:
    if v is None:
        return {}
    if not isinstance(v, dict):
        raise SettingsError(f"{where}: '{key}' must be a mapping of views")
    return v


def settings_from_doc(
    doc: Any, views: Mapping[str, Collection[str]], where: str = "settings"
) -> Settings:
    """:class:`Settings` from a parsed document; ``views``: the column keys of each
    view. Anything unknown or of the wrong type is a :class:`SettingsError`."""
    if doc is None:
        return Settings()
    if not isinstance(doc, dict):
        raise SettingsError(f"{where}: expected a mapping of settings")
    unknown = sorted(printable(str(k))[:40] for k in doc if k not in _KEYS)
    if unknown:
        raise SettingsError(f"{where}: unknown key '{unknown[0]}' (keys: {', '.join(_KEYS)})")
    out = Settings(theme=_word(doc, "theme", where))
    if doc.get("view") is not None:
        out.view = _view(doc["view"], views, where, "view")
    interval = doc.get("interval")
    if interval is not None:
        lo, hi = INTERVAL_RANGE
        # the range first: it compares a huge int exactly (isfinite would overflow),
        # and a NaN or an infinity is out of it
        if (
            isinstance(interval, bool) or not isinstance(interval, (int, float))
            or not lo <= interval <= hi
        ):
            raise SettingsError(f"{where}: 'interval' must be seconds from {lo:g} to {hi:g}")
        out.interval = float(interval)
    units = doc.get("units")
    if units is not None:
        if units not in UNITS:
            raise SettingsError(f"{where}: 'units' must be one of: {', '.join(UNITS)}")
        out.units = units
    tree = doc.get("tree")
    if tree is not None:
        if not isinstance(tree, bool):
            raise SettingsError(f"{where}: 'tree' must be true or false")
        out.tree = tree
    events = doc.get("events")
    if events is not None:
        lo, hi = EVENTS_RANGE
        if isinstance(events, bool) or not isinstance(events, int) or not lo <= events <= hi:
            raise SettingsError(f"{where}: 'events' must be a count from {lo} to {hi}")
        out.events = events
    for view, spec in _mapping(doc.get("sort"), where, "sort").items():
        view = _view(view, views, where, "sort")
        if not isinstance(spec, dict) or set(spec) - {"column", "reversed"}:
            raise SettingsError(f"{where}: sort.{view} must be {{column: KEY, reversed: BOOL}}")
        rev = spec.get("reversed", False)
        if not isinstance(rev, bool):
            raise SettingsError(f"{where}: sort.{view}.reversed must be true or false")
        out.sort[view] = (_column(view, spec.get("column"), views, where), rev)
    for view, keys in _mapping(doc.get("hidden_columns"), where, "hidden_columns").items():
        view = _view(view, views, where, "hidden_columns")
        if not isinstance(keys, list):
            raise SettingsError(f"{where}: hidden_columns.{view} must be a list of columns")
        hidden = [_column(view, k, views, where) for k in keys]
        if set(views[view]) <= set(hidden):
            raise SettingsError(f"{where}: hidden_columns.{view} hides every column")
        out.hidden_columns[view] = sorted(set(hidden), key=hidden.index)
    return out


def _expected_fd_path(path: str) -> str:
    """Where ``path`` is when no link is followed below its last root-owned directory
    (links root made above it, such as ``/home`` -> ``/usr/home``, are followed)."""
    parts = [x for x in path.split("/") if x]
    for i in range(len(parts)):
        here = "/" + "/".join(parts[: i + 1])
        try:
            if os.lstat(here).st_uid != 0:
                trusted = os.path.realpath("/" + "/".join(parts[:i]))
                return os.path.join(trusted, *parts[i:])
        except OSError:
            break
    return os.path.realpath(path)


def read_config_file(path: str | os.PathLike[str], limit: int = MAX_BYTES) -> bytes:
    """At most ``limit + 1`` bytes of a settings or theme file (the caller refuses
    more). Only a regular file is read (a FIFO or a device is refused, never waited
    on); as root, where a directory on the way belongs to another user (HOME under
    ``sudo -E``), no link that user could have made is followed: the file opened must
    be the one at ``path`` itself, or that user could make root read root's files.
    OSError (``strerror``: why) when it cannot be read."""
    p = os.path.abspath(path)
    fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        if foreign_owner(p) is not None:
            try:
                opened = os.readlink(f"/proc/self/fd/{fd}")
            except OSError:
                opened = ""
            if opened != _expected_fd_path(p):
                raise OSError(errno.ELOOP, "reached through a link another user can change")
        return os.read(fd, limit + 1)
    finally:
        os.close(fd)


def read_settings(
    path: str | os.PathLike[str], views: Mapping[str, Collection[str]]
) -> Settings:
    """The settings in ``path`` (no file: the defaults); a :class:`SettingsError`
    (one line) when it cannot be read or is not a settings file."""
    p = Path(path)
    where = printable(str(p))
    try:
        data = read_config_file(p)
    except FileNotFoundError:
        return Settings()
    except OSError as e:
        raise SettingsError(f"{where}: cannot read: {e.strerror or e}") from None
    if len(data) > MAX_BYTES:
        raise SettingsError(f"{where}: not a settings file (over {MAX_BYTES // 1024} KiB)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise SettingsError(f"{where}: invalid text: not UTF-8") from None
    try:
        doc = load_one(text)
    except (yaml.YAMLError, ValueError, RecursionError) as e:  # ValueError: a bad number/date
        raise SettingsError(shown_line(invalid_yaml(where, e))) from None
    return settings_from_doc(doc, views, where)


def settings_doc(s: Settings) -> dict[str, Any]:
    """The document :func:`write_settings` writes (unset fields left out)."""
    doc: dict[str, Any] = {}
    for key in ("theme", "view", "interval", "units", "tree", "events"):
        if getattr(s, key) is not None:
            doc[key] = getattr(s, key)
    if s.sort:
        doc["sort"] = {v: {"column": c, "reversed": r} for v, (c, r) in s.sort.items()}
    if s.hidden_columns:
        doc["hidden_columns"] = {v: list(k) for v, k in s.hidden_columns.items()}
    return doc


def foreign_owner(path: str | os.PathLike[str]) -> tuple[Path, int] | None:
    """When running as root: the first existing directory above ``path`` (lstat, never
    followed) that another user owns, and its uid; None when root may write there. Such
    a directory is its user's to change: root must not make or write files in it."""
    if os.geteuid() != 0:
        return None
    for d in Path(os.path.abspath(path)).parents:
        try:
            uid = os.lstat(d).st_uid
        except OSError:
            continue  # not made yet
        if uid != 0:
            return d, uid
    return None


def write_settings(path: str | os.PathLike[str], s: Settings) -> None:
    """Write ``s`` to ``path`` atomically (its directory made when missing);
    :class:`SettingsError` (one line) when it cannot be written, :class:`ForeignDirectory` when
    root would write into another user's directory (say, HOME under ``sudo -E``)."""
    p = Path(path)
    foreign = foreign_owner(p)
    if foreign is not None:
        d, uid = foreign
        sudo = " (sudo)" if os.environ.get("SUDO_UID") else ""
        raise ForeignDirectory(
            f"{printable(str(d))} belongs to uid {uid}: root{sudo} does not write there"
        )
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise SettingsError(f"cannot write {printable(str(p))}: {e.strerror or e}") from None
    text = "# dmabuf-top settings: written when the app quits (F2 / S: setup)\n"
    try:
        write_atomic(p, text + dump_yaml(settings_doc(s)))
    except SnapshotError as e:
        raise SettingsError(shown_line(str(e))) from None
