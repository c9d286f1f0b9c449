"""The settings file (io/settings.py): written atomically and read back the same; every
kind of broken file is one printable SettingsError line naming it; XDG_CONFIG_HOME."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
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


# -- root reading a file in another user's directory (HOME under sudo -E) --------------
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


@pytest.fixture
def nobodys_config() -> Iterator[Path]:
    """A config directory nobody owns (their HOME's .config under sudo -E), and a file
    only root may read, beside it."""
    if os.geteuid() != 0:
        pytest.skip("reads as root what nobody planted")
    top = Path(tempfile.mkdtemp(prefix="dmabuf-top-home-", dir="/tmp"))
    os.chmod(top, 0o755)
    home = top / "home"
    home.mkdir()
    secret = top / "root-only.yaml"
    secret.write_text("theme: TOP-SECRET\n")
    os.chmod(secret, 0o600)
    os.chown(home, 65534, 65534)
    try:
        yield home
    finally:
        shutil.rmtree(top)


def as_nobody(script: str, cwd: Path) -> None:
    subprocess.run([*NOBODY, "sh", "-c", script], cwd=cwd, check=True)


@pytest.mark.parametrize(
    "plant",
    ["mkdir -p dmabuf-top && ln -s ../../root-only.yaml dmabuf-top/config.yaml",
     "ln -s .. dmabuf-top"],  # a directory link on the way: dmabuf-top/config.yaml is root's
)  # fmt: skip
def test_root_follows_no_link_another_user_made_to_its_own_files(nobodys_config, plant):
    if "ln -s .. " in plant:
        os.rename(nobodys_config.parent / "root-only.yaml", nobodys_config.parent / "config.yaml")
    as_nobody(plant, nobodys_config)
    path = nobodys_config / "dmabuf-top" / "config.yaml"
    with pytest.raises(SettingsError, match="cannot read: .*link") as e:
        read_settings(path, VIEWS)
    assert "TOP-SECRET" not in str(e.value)


def test_a_fifo_is_refused_not_waited_on(tmp_path: Path) -> None:
    """A FIFO at config.yaml (no writer): refused at once, the app does not hang."""
    os.mkfifo(tmp_path / "config.yaml")
    done: list[BaseException] = []

    def read() -> None:
        try:
            read_settings(tmp_path / "config.yaml", VIEWS)
        except SettingsError as e:
            done.append(e)

    t = threading.Thread(target=read, daemon=True)
    t.start()
    t.join(timeout=30)  # bounds a hang of the old code; the fix answers at once
    assert done and "not a regular file" in str(done[0])
