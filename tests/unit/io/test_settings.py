"""The settings file (io/settings.py): written atomically and read back the same; every
kind of broken file is one printable SettingsError line naming it; XDG_CONFIG_HOME."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dmabuf_top.io.settings import (
    MAX_BYTES,
    ForeignDirectory,
    Settings,
    SettingsError,
    read_settings,
    settings_path,
    write_settings,
)
from dmabuf_top.textsafe import is_printable
from dmabuf_top.tui.preferences import Preferences

VIEWS = {"buffers": ["inode", "size", "age", "holders"], "processes": ["pid", "rss"]}


def test_written_settings_read_back_the_same(tmp_path: Path) -> None:
    s = Settings(
        theme="dmabuf-light", view="processes", interval=0.5, units="bytes",
        sort={"buffers": ("inode", True), "processes": ("rss", False)},
        hidden_columns={"buffers": ["age", "inode"]}, tree=True, events=5000,
    )
    path = tmp_path / "deep" / "dir" / "config.yaml"
    write_settings(path, s)
    assert read_settings(path, VIEWS) == s
    assert not [p for p in path.parent.iterdir() if p.name != "config.yaml"]  # no temp left


def test_no_file_is_the_defaults(tmp_path: Path) -> None:
    assert read_settings(tmp_path / "none.yaml", VIEWS) == Settings()
    (tmp_path / "empty.yaml").write_text("")
    assert read_settings(tmp_path / "empty.yaml", VIEWS) == Settings()


def test_the_file_lives_under_xdg_config_home(tmp_path: Path) -> None:
    assert settings_path({"XDG_CONFIG_HOME": str(tmp_path)}) == (
        tmp_path / "dmabuf-top" / "config.yaml"
    )
    # a relative XDG_CONFIG_HOME is not used (the XDG spec)
    assert settings_path({"XDG_CONFIG_HOME": "rel"}).parts[-3:] == (
        ".config", "dmabuf-top", "config.yaml"
    )


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("- a\n- b\n", "expected a mapping"),
        ("theme: [x]\n", "'theme' must be a name"),
        ("theme: \"\\e[31mred\"\n", "'theme' must be a name"),
        ("view: nope\n", "unknown view"),
        ("interval: 0\n", "'interval' must be seconds"),
        ("interval: .inf\n", "'interval' must be seconds"),
        ("interval: true\n", "'interval' must be seconds"),
        ("interval: .nan\n", "'interval' must be seconds"),
        (f"interval: {10**400}\n", "'interval' must be seconds"),  # no float holds it
        ("units: kib\n", "'units' must be one of"),
        ("tree: 1\n", "'tree' must be true or false"),
        ("tree: on-off\n", "'tree' must be true or false"),
        ("events: 9\n", "'events' must be a count from 10 to 100000"),
        ("events: true\n", "'events' must be a count"),
        ("events: 1e3\n", "'events' must be a count"),
        (f"events: {10**400}\n", "'events' must be a count"),
        ("sort: {buffers: {column: nope}}\n", "unknown buffers column"),
        ("sort: {buffers: {column: size, reversed: 1}}\n", "reversed must be true or false"),
        ("sort: {buffers: size}\n", "sort.buffers must be"),
        ("sort: [1]\n", "'sort' must be a mapping"),
        ("hidden_columns: {buffers: [inode, size, age, holders]}\n", "hides every column"),
        ("hidden_columns: {buffers: age}\n", "must be a list"),
        ("hidden_columns: {buffers: [&a [*a]]}\n", "aliases (*name) are not allowed"),
        ("colour: red\n", "unknown key 'colour'"),
        ("theme: a\n  b: [\n", "invalid YAML"),
        ("when: 2026-13-45\n", "invalid YAML"),
        ("!!python/object/apply:os.system ['true']\n", "invalid YAML"),
    ],
)
def test_a_broken_file_is_one_line_naming_it(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(SettingsError) as e:
        read_settings(path, VIEWS)
    msg = str(e.value)
    assert says in msg, msg
    assert msg.startswith(str(path))
    assert is_printable(msg) and "\n" not in msg


def test_binary_and_huge_files_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_bytes(b"theme: \xff\xfe\n")
    with pytest.raises(SettingsError, match="not UTF-8"):
        read_settings(path, VIEWS)
    path.write_bytes(b"#" * (MAX_BYTES + 1))
    with pytest.raises(SettingsError, match="not a settings file"):
        read_settings(path, VIEWS)


def test_an_unreadable_or_unwritable_place_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "dir.yaml").mkdir()
    with pytest.raises(SettingsError, match="cannot read"):
        read_settings(tmp_path / "dir.yaml", VIEWS)
    (tmp_path / "file").write_text("x")
    with pytest.raises(SettingsError, match="cannot write"):
        write_settings(tmp_path / "file" / "config.yaml", Settings(theme="x"))


@pytest.mark.skipif(os.geteuid() != 0, reason="root writing into a user's home")
def test_root_does_not_write_into_another_users_home(tmp_path: Path, monkeypatch) -> None:
    """Issue 21 item 12: under ``sudo -E`` HOME is the user's, and root made a root-owned
    ``~/.config/dmabuf-top`` there. Now: not written, said once (one line), no retry."""
    home = tmp_path / "home"
    home.mkdir()
    os.chown(home, 65534, 65534)  # the user's home (nobody's here)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.setenv("SUDO_UID", "65534")
    path = settings_path()
    assert path == home / ".config" / "dmabuf-top" / "config.yaml"
    with pytest.raises(ForeignDirectory) as e:
        write_settings(path, Settings(theme="dmabuf-light"))
    assert str(e.value) == f"{home} belongs to uid 65534: root (sudo) does not write there"
    assert list(home.iterdir()) == []  # not even ~/.config
    prefs = Preferences.load(path)
    assert prefs.save(Settings(theme="dmabuf-light")) == str(e.value)
    assert prefs.save(Settings(theme="dmabuf-dark")) == ""  # said once, not tried again
    assert list(home.iterdir()) == []
    # root's own directories are written as before
    write_settings(tmp_path / "root" / "config.yaml", Settings(theme="dmabuf-light"))
    assert read_settings(tmp_path / "root" / "config.yaml", VIEWS).theme == "dmabuf-light"
