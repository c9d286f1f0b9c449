"""io/atomic.py, the one way dmabuf-top writes a file, as root (issue 21 items 1, 2, 8):
a setuid file planted by ``nobody`` in a sticky world-writable directory is replaced,
never kept setuid; a symlink at the target is replaced, never followed (snapshot -o,
export -o, the TUI's export, record -o with and without --force); new files follow the
umask. Real root writes, real unprivileged users (setpriv), real symlinks."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from dmabuf_top.cli import main
from dmabuf_top.io.atomic import create_file, kept_mode, open_stream, write_atomic
from dmabuf_top.io.errors import SnapshotError
from dmabuf_top.io.export import export_text
from tests.support.paths import REPO

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="writes as root, plants as nobody")

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
RECORDING = REPO / "tests" / "data" / "vm-6.1-leak.yaml"


@pytest.fixture
def sticky() -> Iterator[Path]:
    """A sticky world-writable directory (like /tmp) that nobody can reach: pytest's
    own tmp_path sits under a 0700 directory of root's."""
    d = Path(tempfile.mkdtemp(prefix="dmabuf-top-sticky-", dir="/tmp"))
    os.chmod(d, 0o1777)
    yield d
    shutil.rmtree(d)


@pytest.fixture
def umask022() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


def as_nobody(script: str, cwd: Path) -> None:
    subprocess.run([*NOBODY, "sh", "-c", script], cwd=cwd, check=True)


def root_only(tmp_path: Path) -> Path:
    secret = tmp_path / "root-only"
    secret.write_text("root's\n")
    os.chmod(secret, 0o600)
    return secret


def test_a_planted_setuid_file_is_replaced_by_a_plain_root_file(sticky, umask022, capsys):
    """Item 1: nobody plants a 6777 file; root's `snapshot -o` there left
    ``-rwsrwsrwx root root`` (mode copied from the planted file)."""
    as_nobody("touch planted && chmod 6777 planted", sticky)
    planted = sticky / "planted"
    assert stat.S_IMODE(planted.stat().st_mode) == 0o6777 and planted.stat().st_uid == 65534
    assert main(["snapshot", "--demo", "-o", str(planted)]) == 0
    st = os.lstat(planted)
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (0, 0o644)
    assert planted.read_text().startswith("schema: dmabuf-top/1")
    # nobody cannot write it, nor run it as root
    got = subprocess.run([*NOBODY, "sh", "-c", f"echo x >> {planted}"], capture_output=True)
    assert got.returncode != 0


def test_a_link_nobody_plants_at_the_target_is_replaced(sticky, tmp_path, umask022):
    """rename() replaces a symlink at the target; the file it points to is untouched
    (its mode is not copied either), and no temp file is left behind."""
    secret = root_only(tmp_path)
    as_nobody(f"ln -s {secret} out.yaml", sticky)
    write_atomic(sticky / "out.yaml", "new\n")
    assert secret.read_text() == "root's\n"
    assert not (sticky / "out.yaml").is_symlink() and (sticky / "out.yaml").read_text() == "new\n"
    assert stat.S_IMODE((sticky / "out.yaml").stat().st_mode) == 0o644
    assert [p.name for p in sticky.iterdir()] == ["out.yaml"]


def test_the_mode_of_roots_own_file_is_kept_without_setuid(tmp_path, umask022):
    mine = tmp_path / "mine"
    mine.write_text("old\n")
    os.chmod(mine, 0o4640)
    assert kept_mode(mine) == 0o640
    write_atomic(mine, "new\n")
    assert stat.S_IMODE(mine.stat().st_mode) == 0o640 and mine.read_text() == "new\n"
    os.symlink(mine, tmp_path / "link")
    assert kept_mode(tmp_path / "link") is None  # never the mode behind a link


def test_new_files_follow_the_umask(tmp_path, capsys):
    """Item 8: snapshots and exports were 0644 whatever the umask."""
    old = os.umask(0o077)
    try:
        assert main(["snapshot", "--demo", "-o", str(tmp_path / "s.yaml")]) == 0
        write_atomic(tmp_path / "w", "x")
        exported = export_text("x", tmp_path, "e.yaml")
        with RecordingFile(tmp_path / "r.yaml", replace=False):
            pass
    finally:
        os.umask(old)
    for name in ("s.yaml", "w", exported.name, "r.yaml"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name


class RecordingFile:
    """create_file as record -o uses it, closed after."""

    def __init__(self, path: Path, replace: bool) -> None:
        self.fd = create_file(path, replace=replace)

    def __enter__(self) -> int:
        return self.fd

    def __exit__(self, *exc: object) -> None:
        os.close(self.fd)


def planted_links(sticky: Path, tmp_path: Path) -> list[Path]:
    """Links nobody planted: to a setuid file of nobody's, to a root-only file, and
    dangling (to a name in root's directory)."""
    as_nobody("touch suid && chmod 6777 suid && ln -s suid to-suid", sticky)
    os.symlink(root_only(tmp_path), sticky / "to-secret")  # (nobody cannot stat it)
    as_nobody(f"ln -s {tmp_path}/made-by-link dangling", sticky)
    return [sticky / "to-suid", sticky / "to-secret", sticky / "dangling"]


def assert_replaced(links: list[Path], sticky: Path, tmp_path: Path, start: str) -> None:
    for link in links:
        st = os.lstat(link)
        assert stat.S_ISREG(st.st_mode) and (st.st_uid, stat.S_IMODE(st.st_mode)) == (0, 0o644)
        assert link.read_text().startswith(start)
    suid = os.lstat(sticky / "suid")
    assert (suid.st_uid, stat.S_IMODE(suid.st_mode), suid.st_size) == (65534, 0o6777, 0)
    assert (tmp_path / "root-only").read_text() == "root's\n"
    assert not (tmp_path / "made-by-link").exists()


def test_snapshot_o_replaces_a_link_never_writes_through_it(sticky, tmp_path, umask022, capsys):
    links = planted_links(sticky, tmp_path)
    for link in links:
        assert main(["snapshot", "--demo", "-o", str(link)]) == 0
    assert_replaced(links, sticky, tmp_path, "schema:")


def test_export_o_replaces_a_link(sticky, tmp_path, umask022, capsys):
    links = planted_links(sticky, tmp_path)
    for link in links:
        assert main(["export", str(RECORDING), "-o", str(link), "--format", "chrome-json"]) == 0
    assert_replaced(links, sticky, tmp_path, "{")


def test_the_tuis_export_never_writes_over_a_link_or_a_file(tmp_path):
    """The x export and the palette's Screenshot pick a new name; a dangling link there
    (a name taken) is neither followed nor replaced."""
    os.symlink(tmp_path / "made-by-link", tmp_path / "dmabuf-top-1.yaml")
    got = export_text("text\n", tmp_path, "dmabuf-top-1.yaml")
    assert got.name == "dmabuf-top-1-2.yaml" and got.read_text() == "text\n"
    assert (tmp_path / "dmabuf-top-1.yaml").is_symlink()
    assert not (tmp_path / "made-by-link").exists()


def test_record_o_never_follows_a_link(tmp_path, capsys):
    """Item 2: a dangling link made root create its target; --force truncated a
    root-only file through a link."""
    secret = root_only(tmp_path)
    dangling = tmp_path / "dangling.yaml"
    os.symlink(tmp_path / "made-by-link", dangling)
    assert main(["record", "-o", str(dangling), "-n", "1", "-i", "0.01"]) == 2
    assert "exists (use --force" in capsys.readouterr().err
    assert not (tmp_path / "made-by-link").exists()
    with pytest.raises(SnapshotError, match="file exists"):
        create_file(dangling, replace=False)
    assert not (tmp_path / "made-by-link").exists()

    link = tmp_path / "to-secret.yaml"
    os.symlink(secret, link)
    assert main(["record", "-o", str(link), "-n", "1", "-i", "0.01", "--force"]) == 0
    assert secret.read_text() == "root's\n" and stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert not link.is_symlink() and "record:" in link.read_text()


def test_a_fifo_or_dev_null_is_written_into_never_replaced(tmp_path, capsys):
    """A stream at the target is no file to replace: ``snapshot -o /dev/null`` used to
    rename a temp file over /dev/null (as root)."""
    null = tmp_path / "null"
    os.mknod(null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # a /dev/null of our own
    assert main(["snapshot", "--demo", "-o", str(null)]) == 0
    with RecordingFile(null, replace=True):
        pass
    assert stat.S_ISCHR(os.lstat(null).st_mode) and sorted(os.listdir(tmp_path)) == ["null"]


def test_a_stream_that_became_a_regular_file_is_not_written(sticky, umask022):
    """``is_stream`` (lstat) and the open are two steps: a FIFO nobody planted at the
    target can be swapped, between them, for a regular file (their own, or a hard link
    where protected_hardlinks is off) that root then appended to. The opened file
    itself must still be a stream."""
    target = sticky / "snap.yaml"
    as_nobody(f"echo theirs > {target.name}", sticky)  # what the swap leaves there
    with pytest.raises(SnapshotError, match="not a FIFO or character device"):
        os.close(open_stream(target))
    assert target.read_text() == "theirs\n"
    fifo = sticky / "pipe"
    os.mkfifo(fifo)
    r = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # a reader, so the open does not wait
    try:
        os.close(open_stream(fifo))
    finally:
        os.close(r)
