"""Colour themes as files: YAML documents mapping to ``textual.theme.Theme``.

Themes come from, in order (a later file with the same name wins):

1. the package's own ``themes/`` (``dmabuf_top/themes`` in a wheel; the
   repository's top-level ``themes/`` in an editable install);
2. the user's ``$XDG_CONFIG_HOME/dmabuf-top/themes/`` (default
   ``~/.config/dmabuf-top/themes/``).

A file holds the :class:`~textual.theme.Theme` fields (``name``, ``primary``,
``background``, ``dark``...) and ``variables``, a mapping of CSS variable
names to values. A broken file never stops the app: it is skipped and
reported (:attr:`ThemeSet.errors`).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from textual.color import Color, ColorParseError
from textual.theme import Theme

import dmabuf_top
from dmabuf_top.io.settings import MAX_BYTES, config_dir, read_config_file
from dmabuf_top.io.yamltext import invalid_yaml, load_one
from dmabuf_top.textsafe import printable

DEFAULT_THEME = "dmabuf-dark"

_COLOR_FIELDS = (
    "primary",
    "secondary",
    "warning",
    "error",
    "success",
    "accent",
    "foreground",
    "background",
    "surface",
    "panel",
    "boost",
)
_FIELDS = {f.name for f in dataclasses.fields(Theme)}


def dmabuf_variables(v: dict[str, str]) -> dict[str, str]:
    """dmabuf-top's own CSS variables for a theme that does not set them, from the
    variables Textual generates for it (``v``)."""
    return {
        "dmabuf-new": v["success-muted"],
        "dmabuf-freed": v["text-disabled"],
        "dmabuf-graph": v["primary"],
        "dmabuf-warning": v["warning"],
        "dmabuf-meter": v["primary"],
        "dmabuf-meter-empty": v["surface"],
        "dmabuf-size-small": v["text-muted"],
        "dmabuf-size-medium": v["foreground"],
        "dmabuf-size-large": v["accent"],
        "dmabuf-grow": v["error"],
        "dmabuf-shrink": v["success"],
    }


class ThemeError(ValueError):
    """A theme file that cannot be used; str() is one line naming the file."""


@dataclass
class ThemeSet:
    """Every theme found, by name (in load order), and the files that failed."""

    themes: dict[str, Theme] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    #: where each theme came from
    paths: dict[str, Path] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return list(self.themes)


def bundled_theme_dir() -> Path:
    """The themes shipped with the package (wheel), else the repository's."""
    package = Path(dmabuf_top.__file__).resolve().parent
    packaged = package / "data" / "themes"
    if packaged.is_dir():
        return packaged
    return package.parent / "themes"


def user_theme_dir(environ: dict[str, str] | None = None) -> Path:
    return config_dir(environ) / "themes"


def _check_color(value: Any, key: str, where: str) -> str:
    if not isinstance(value, str):
        raise ThemeError(f"{where}: '{key}' must be a colour string, not {type(value).__name__}")
    try:
        Color.parse(value)
    except ColorParseError:
        raise ThemeError(f"{where}: '{key}' is not a colour: {value!r}") from None
    return value


def theme_from_dict(doc: Any, where: str = "theme") -> Theme:
    """A :class:`Theme` from a parsed YAML document; :class:`ThemeError` if invalid."""
    if not isinstance(doc, dict):
        raise ThemeError(f"{where}: expected a mapping of theme fields")
    unknown = sorted(str(k) for k in doc if k not in _FIELDS)
    if unknown:
        raise ThemeError(
            f"{where}: unknown key {unknown[0]!r} (theme fields: {', '.join(sorted(_FIELDS))})"
        )
    name = doc.get("name")
    if not isinstance(name, str) or not name.strip() or any(c.isspace() for c in name):
        raise ThemeError(f"{where}: 'name' must be a non-empty word")
    if doc.get("primary") is None:  # a colour is required; null is none
        raise ThemeError(f"{where}: missing key 'primary'")
    kwargs: dict[str, Any] = {"name": name}
    for key in _COLOR_FIELDS:
        if doc.get(key) is not None:
            kwargs[key] = _check_color(doc[key], key, where)
    for key in ("dark", "ansi"):
        if key in doc:
            if not isinstance(doc[key], bool):
                raise ThemeError(f"{where}: '{key}' must be true or false")
            kwargs[key] = doc[key]
    for key in ("luminosity_spread", "text_alpha"):
        if key in doc:
            val = doc[key]
            if isinstance(val, bool) or not isinstance(val, (int, float)) or not 0 <= val <= 1:
                raise ThemeError(f"{where}: '{key}' must be a number from 0 to 1")
            kwargs[key] = float(val)
    variables = doc.get("variables") or {}
    if not isinstance(variables, dict):
        raise ThemeError(f"{where}: 'variables' must be a mapping")
    clean: dict[str, str] = {}
    for k, v in variables.items():
        if not isinstance(k, str) or not k or not all(c.isalnum() or c == "-" for c in k):
            raise ThemeError(f"{where}: bad variable name {k!r}")
        if isinstance(v, bool) or not isinstance(v, (str, int, float)):
            raise ThemeError(f"{where}: variable {k!r} must be a string")
        clean[k] = str(v)
    kwargs["variables"] = clean
    return Theme(**kwargs)


def load_theme_file(path: str | os.PathLike[str]) -> Theme:
    """Read one theme file; :class:`ThemeError` (one line) when it is unusable."""
    p = Path(path)
    try:
        data = read_config_file(p)
        if len(data) > MAX_BYTES:
            raise ThemeError(f"{printable(str(p))}: not a theme (over {MAX_BYTES // 1024} KiB)")
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        why = getattr(e, "strerror", None) or e
        raise ThemeError(f"{printable(str(p))}: cannot read: {why}") from None
    try:
        doc = load_one(text)
    except (yaml.YAMLError, ValueError) as e:  # ValueError: a number or date none can be
        raise ThemeError(invalid_yaml(str(p), e)) from None
    return theme_from_dict(doc, str(p))


def _theme_files(directory: Path) -> list[Path]:
    try:
        entries = sorted(directory.iterdir())
    except OSError:
        return []
    return [e for e in entries if e.suffix in (".yaml", ".yml") and e.is_file()]


def load_themes(
    dirs: list[Path] | None = None, environ: dict[str, str] | None = None
) -> ThemeSet:
    """Every theme in the bundled and user directories (or ``dirs``)."""
    if dirs is None:
        dirs = [bundled_theme_dir(), user_theme_dir(environ)]
    out = ThemeSet()
    for d in dirs:
        for path in _theme_files(d):
            try:
                theme = load_theme_file(path)
            except ThemeError as e:
                out.errors.append(str(e))
                continue
            out.themes.pop(theme.name, None)  # a user file overrides, keeps its place last
            out.themes[theme.name] = theme
            out.paths[theme.name] = path
    return out


class UnknownTheme(ValueError):
    """``--theme NAME`` names no theme; str() is one line listing the known ones."""


def check_theme(name: str, themes: ThemeSet) -> None:
    """Raise :class:`UnknownTheme` unless ``name`` is one of ``themes`` or Textual's own."""
    from textual.theme import BUILTIN_THEMES

    known = list(themes.names) + [n for n in BUILTIN_THEMES if n not in themes.names]
    if name not in known:
        raise UnknownTheme(f"unknown theme '{name}' (choose from: {', '.join(known)})")
