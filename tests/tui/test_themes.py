"""Theme files: bundled ones load, user ones override, bad ones are reported."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from textual.theme import Theme

from dmabuf_top.cli import main as cli_main
from dmabuf_top.tui.app import DmabufTopApp
from dmabuf_top.tui.themes import (
    DEFAULT_THEME,
    ThemeError,
    bundled_theme_dir,
    load_theme_file,
    load_themes,
    user_theme_dir,
)
from tests.support.paths import REPO
from tests.support.pilot import SIZE, VM_SNAPSHOT, ScriptedBackend, settle, small_snapshot
from tests.support.table_readers import row_count

REPO_THEMES = REPO / "themes"


def test_bundled_themes_load_without_errors():
    ts = load_themes(dirs=[bundled_theme_dir()])
    assert ts.errors == []
    assert {"dmabuf-dark", "dmabuf-light", "dmabuf-contrast", "dmabuf-ansi"} <= set(ts.names)
    assert DEFAULT_THEME in ts.names
    assert ts.themes["dmabuf-light"].dark is False
    assert ts.themes["dmabuf-ansi"].ansi is True
    for t in ts.themes.values():
        assert isinstance(t, Theme)
        assert {"dmabuf-new", "dmabuf-freed", "dmabuf-graph", "dmabuf-warning"} <= set(
            t.variables
        )


def test_the_package_finds_the_repository_themes_in_an_editable_install():
    d = bundled_theme_dir()
    assert d.is_dir() and sorted(p.name for p in d.glob("*.yaml")) == sorted(
        p.name for p in REPO_THEMES.glob("*.yaml")
    )


def test_user_dir_follows_xdg_config_home(tmp_path):
    assert user_theme_dir({"XDG_CONFIG_HOME": str(tmp_path)}) == (
        tmp_path / "dmabuf-top" / "themes"
    )
    assert user_theme_dir({"HOME": "/nonexistent"}).parts[-3:] == (
        ".config", "dmabuf-top", "themes"
    )


def _write(d: Path, name: str, text: str) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    p = d / name
    p.write_text(text)
    return p


def test_user_themes_add_and_override_bad_ones_are_reported(tmp_path):
    user = tmp_path / "dmabuf-top" / "themes"
    _write(
        user, "mine.yaml", "name: mine\nprimary: '#ff0000'\nvariables: {dmabuf-new: '#00ff00'}\n"
    )
    _write(user, "dark.yaml", "name: dmabuf-dark\nprimary: '#123456'\n")
    _write(user, "broken.yaml", "name: [unclosed\n")
    _write(user, "nocolor.yaml", "name: x\nprimary: not-a-colour\n")
    _write(user, "typo.yaml", "name: y\nprimary: red\nbackgrund: blue\n")
    _write(user, "README.txt", "not a theme")
    ts = load_themes(environ={"XDG_CONFIG_HOME": str(tmp_path)})
    assert "mine" in ts.names and ts.themes["mine"].variables == {"dmabuf-new": "#00ff00"}
    assert ts.themes["dmabuf-dark"].primary == "#123456"
    assert ts.paths["dmabuf-dark"].parent == user
    assert len(ts.errors) == 3
    joined = "\n".join(ts.errors)
    assert "broken.yaml: invalid YAML" in joined
    assert "nocolor.yaml: 'primary' is not a colour" in joined
    assert "typo.yaml: unknown key 'backgrund'" in joined
    assert all("\n" not in e for e in ts.errors)


@pytest.mark.parametrize(
    "text,problem",
    [
        ("- a list\n", "expected a mapping"),
        ("primary: red\n", "'name' must be a non-empty word"),
        ("name: two words\nprimary: red\n", "'name' must be a non-empty word"),
        ("name: z\n", "missing key 'primary'"),
        ("name: z\nprimary: red\ndark: maybe\n", "'dark' must be true or false"),
        ("name: z\nprimary: red\ntext_alpha: 3\n", "'text_alpha' must be a number"),
        ("name: z\nprimary: red\nvariables: [1]\n", "'variables' must be a mapping"),
        ("name: z\nprimary: red\nvariables: {'bad name': red}\n", "bad variable name"),
        # found by test_fuzz_themes.py: TypeError from Theme(), ValueError from YAML
        ("name: z\nprimary: null\n", "missing key 'primary'"),
        ("name: z\nprimary: red\ntext_alpha: " + "9" * 5000 + "\n", "invalid YAML: Exceeds"),
        ("name: z\nprimary: 2026-13-45\n", "invalid YAML: month must be in 1..12"),
    ],
)
def test_theme_file_errors_are_one_line(tmp_path, text, problem):
    p = _write(tmp_path, "t.yaml", text)
    with pytest.raises(ThemeError) as e:
        load_theme_file(p)
    assert problem in str(e.value) and str(p) in str(e.value)


async def test_a_bad_theme_file_is_a_notification_not_a_crash(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    _write(tmp_path / "dmabuf-top" / "themes", "bad.yaml", "name: [\n")
    _write(tmp_path / "dmabuf-top" / "themes", "markup.yaml", "name: m\nprimary: red\n'[/x]': 1\n")
    app = DmabufTopApp(ScriptedBackend([small_snapshot()]), delay=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        notes = list(app.notices)
        assert any("bad.yaml: invalid YAML" in n.message and n.severity == "warning"
                   for n in notes)
        assert any("unknown key '[/x]'" in n.message for n in notes)
        # file contents are shown literally, never read as markup
        assert all(not n.markup for n in notes)
        assert app.theme == DEFAULT_THEME


@pytest.mark.parametrize("name", ["dmabuf-light", "dmabuf-contrast", "dmabuf-ansi"])
async def test_theme_option_selects_a_theme(name):
    app = DmabufTopApp(ScriptedBackend([small_snapshot()]), delay=3600, theme=name)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.theme == name
        assert row_count(app.screen.table()) == 4


def test_unknown_theme_is_a_usage_error(capsys):
    rc = cli_main(["--load", str(VM_SNAPSHOT), "--theme", "no-such-theme"])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith("dmabuf-top: error: unknown theme 'no-such-theme' (choose from: ")
    assert "dmabuf-dark" in err and err.count("\n") == 1


def test_root_reads_no_theme_through_a_link_in_another_users_directory():
    """HOME under sudo -E: the user links a theme to a file only root may read (whose
    keys and colours a theme error would quote); root does not read it. A file far too
    big for a theme is refused without reading it all."""
    if os.geteuid() != 0:
        pytest.skip("reads as root what another user planted")
    top = Path(tempfile.mkdtemp(prefix="dmabuf-top-themes-", dir="/tmp"))
    try:
        secret = top / "root-only.yaml"
        secret.write_text("name: TOP-SECRET\nprimary: '#ff0000'\n")
        os.chmod(secret, 0o600)
        themes = top / "themes"
        themes.mkdir()
        (themes / "big.yaml").write_bytes(b"# " + b"x" * (1 << 20))
        os.symlink(secret, themes / "leak.yaml")
        os.lchown(themes / "leak.yaml", 65534, 65534)
        os.chown(themes / "big.yaml", 65534, 65534)
        os.chown(themes, 65534, 65534)
        got = load_themes([themes])
        assert "TOP-SECRET" not in got.names
        assert not [e for e in got.errors if "TOP-SECRET" in e]
        assert any("leak.yaml: cannot read: reached through a link" in e for e in got.errors)
        assert any("big.yaml: not a theme (over 64 KiB)" in e for e in got.errors)
    finally:
        shutil.rmtree(top)
