"""gatepass.files and gatepass.readback: private directories whatever the umask, O_EXCL temp files nobody can plant,
stale temps swept, and read-back that trusts only our own files in directories no one else can write
(issue #12 items 1, 2, 6)."""

from __future__ import annotations

import grp
import os
import stat
import subprocess
import sys
import threading

import pytest

from gatepass import files
from gatepass.errors import PrivateFileError
from gatepass.files import private_dir, write_atomic
from gatepass.readback import UnreadableFile, directory_problem, read_trusted, read_user_file
from tests.support.local_user import local_user, needs_root, shared_dir


@pytest.mark.parametrize("umask", [0o000, 0o277])
def test_private_dir_makes_every_missing_parent_0700_whatever_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        private_dir(str(tmp_path / "a" / "b" / "c"))
    finally:
        os.umask(old)
    for path in (tmp_path / "a", tmp_path / "a" / "b", tmp_path / "a" / "b" / "c"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path


def test_write_atomic_is_0600_and_whole(tmp_path):
    target = tmp_path / "d" / "f"
    write_atomic(str(target), b"one")
    write_atomic(str(target), b"two")
    assert target.read_bytes() == b"two"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert os.listdir(tmp_path / "d") == ["f"]


def test_write_atomic_never_opens_a_temp_file_already_there(tmp_path, monkeypatch):
    """O_EXCL: even a temp name someone guessed and created first is never written into."""
    tmp_path = tmp_path / "w"
    tmp_path.mkdir()
    monkeypatch.setattr(files.posix, "urandom", lambda n: b"\0" * n)
    target = tmp_path / "f"
    planted = tmp_path / f"f.{os.getpid()}.{'00' * 8}.tmp"
    planted.write_bytes(b"")
    planted.chmod(0o666)
    with pytest.raises(PrivateFileError, match="nothing was changed"):
        write_atomic(str(target), b"secret")
    assert planted.read_bytes() == b"" and not target.exists()


def test_write_atomic_interrupted_leaves_no_temp(tmp_path, monkeypatch):
    """Ctrl-C (KeyboardInterrupt raised inside the write, whatever SIGINT's disposition) removes the temp."""
    tmp_path = tmp_path / "w"
    tmp_path.mkdir()
    target = tmp_path / "f"
    target.write_bytes(b"old")

    def interrupt(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(files.posix, "fsync", interrupt)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(str(target), b"new")
    assert os.listdir(tmp_path) == ["f"] and target.read_bytes() == b"old"


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_stale_temps_of_killed_writers_are_swept(tmp_path):
    tmp_path = tmp_path / "w"
    tmp_path.mkdir()
    target = str(tmp_path / "cache")
    dead = f"{target}.{_dead_pid()}.{'ab' * 8}.tmp"      # a writer SIGKILLed mid-write
    live = f"{target}.{os.getppid()}.{'cd' * 8}.tmp"      # a writer still running
    old_style = f"{target}.99999999.tmp"                  # the old naming, pid not alive
    unrelated = f"{target}.notes.tmp"
    for path in (dead, live, old_style, unrelated):
        open(path, "w").close()
    files.remove_stale_temps(target, locked=False)
    assert sorted(os.listdir(tmp_path)) == sorted(os.path.basename(p) for p in (live, unrelated))
    files.remove_stale_temps(target)  # under the writers' lock: every temp is stale
    assert os.listdir(tmp_path) == [os.path.basename(unrelated)]


# -- reading back --------------------------------------------------------------------------------

def test_read_trusted_reads_our_own_private_file(tmp_path):
    write_atomic(str(tmp_path / "d" / "f"), b"data")
    assert read_trusted(str(tmp_path / "d" / "f"), 100) == b"data"
    assert read_trusted(str(tmp_path / "d" / "missing"), 100) is None


def test_read_trusted_ignores_symlinks_fifos_and_oversized_files(tmp_path):
    (tmp_path / "real").write_bytes(b"data")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    os.mkfifo(tmp_path / "fifo")  # no writer: a blocking open would hang forever
    result: list[object] = []
    reader = threading.Thread(target=lambda: result.append(read_trusted(str(tmp_path / "fifo"), 100)), daemon=True)
    reader.start()
    reader.join(10)
    assert result == [None]
    assert read_trusted(str(tmp_path / "link"), 100) is None
    assert read_trusted(str(tmp_path / "real"), 3) is None


@pytest.mark.parametrize("mode", [0o620, 0o602])
def test_read_trusted_ignores_a_file_others_can_write(tmp_path, mode):
    (tmp_path / "f").write_bytes(b"data")
    (tmp_path / "f").chmod(mode)
    assert read_trusted(str(tmp_path / "f"), 100) is None


def test_read_trusted_ignores_a_file_in_a_directory_others_can_write(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f").write_bytes(b"data")
    # Group-writable through a group others are in (root: nogroup, whose member is nobody); a user private
    # group would be the owner's alone (tests/unit/trust/test_private_group.py). Not root: world-writable.
    if os.geteuid() == 0:
        os.chown(tmp_path / "d", -1, grp.getgrnam("nogroup").gr_gid)
    (tmp_path / "d").chmod(0o770 if os.geteuid() == 0 else 0o777)
    assert read_trusted(str(tmp_path / "d" / "f"), 100) is None
    assert "writable by other users" in (directory_problem(str(tmp_path / "d")) or "")
    (tmp_path / "d").chmod(0o1777)  # sticky, like /tmp: others cannot replace what is ours
    assert read_trusted(str(tmp_path / "d" / "f"), 100) == b"data"


def test_read_trusted_ignores_a_directory_writable_through_an_acl(tmp_path):
    (tmp_path / "d").mkdir(mode=0o700)
    (tmp_path / "d" / "f").write_bytes(b"data")
    subprocess.run(["setfacl", "-m", "u:nobody:rwx", str(tmp_path / "d")], check=True)
    assert read_trusted(str(tmp_path / "d" / "f"), 100) is None


@needs_root
def test_root_trusts_none_of_a_users_files():
    """sudo -E: root's XDG_CACHE_HOME is the user's; the user's directory, or a file the user
    owns, is never trusted, even when root wrote it."""
    with local_user() as user, shared_dir() as shared:
        theirs = os.path.join(shared, "cache")
        os.mkdir(theirs, 0o700)
        os.chown(theirs, user.uid, user.gid)
        write_atomic(os.path.join(theirs, "f"), b"root's")
        assert read_trusted(os.path.join(theirs, "f"), 100) is None
        os.chown(theirs, 0, 0)
        os.chown(os.path.join(theirs, "f"), user.uid, user.gid)
        assert read_trusted(os.path.join(theirs, "f"), 100) is None
        os.chown(os.path.join(theirs, "f"), 0, 0)
        assert read_trusted(os.path.join(theirs, "f"), 100) == b"root's"


@needs_root
def test_a_temp_file_another_user_planted_never_receives_a_secret():
    """Issue #12 item 2: in a directory both can write (sticky, like /tmp), another user creates
    the writer's temp names first, 0666. The secret must never land in a file that user owns."""
    with local_user() as user, shared_dir(0o1777) as shared:
        target = os.path.join(shared, "token")
        names = [f"{target}.{os.getpid()}.tmp"] + [f"{target}.{os.getpid()}.{i:016x}.tmp" for i in range(3)]
        user.run(["sh", "-c", 'umask 0; for f in "$@"; do : > "$f"; done', "sh", *names])
        write_atomic(target, b"s3cret")
        st = os.stat(target)
        assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (0, 0o600)
        for name in names:
            assert open(name, "rb").read() == b"", name
        assert user.run(["cat", target], check=False).returncode != 0


@needs_root
def test_a_lock_file_another_user_owns_is_refused():
    with local_user() as user, shared_dir(0o1777) as shared:
        lock = os.path.join(shared, "x.lock")
        user.run(["sh", "-c", f"umask 0; : > {lock}"])
        with pytest.raises(PrivateFileError, match="not your own"):
            with files.Lock(lock, timeout=0.1):
                pass


def test_a_symlinked_directory_is_judged_by_where_it_points(tmp_path):
    (tmp_path / "open").mkdir(mode=0o777)
    (tmp_path / "open").chmod(0o777)
    (tmp_path / "open" / "cache").mkdir(mode=0o700)
    (tmp_path / "safe").mkdir(mode=0o700)
    (tmp_path / "safe" / "cache").mkdir(mode=0o700)
    link = tmp_path / "home" / ".cache"
    link.symlink_to(tmp_path / "safe" / "cache")
    write_atomic(str(link / "f"), b"data")
    assert read_trusted(str(link / "f"), 100) == b"data"
    link.unlink()
    link.symlink_to(tmp_path / "open" / "cache")
    write_atomic(str(link / "f"), b"data")
    assert read_trusted(str(link / "f"), 100) is None
    assert "open is writable by other users" in (directory_problem(str(link)) or "")


def test_the_token_cache_sweeps_temps_of_killed_writers(isolated_env):
    from gatepass.engines import tokencache

    env = dict(os.environ)
    tokencache.put(env, ("test", "a"), "tok-a", 2_000_000_000, lambda: 1_000_000_000.0)
    folder = tokencache.directory(env)
    base = os.path.basename(tokencache.path_for(env, ("test", "a")))
    dead = os.path.join(folder, f"{base}.{_dead_pid()}.{'ab' * 8}.tmp")
    with open(dead, "w") as handle:
        handle.write("tok-leftover")
    tokencache.put(env, ("test", "b"), "tok-b", 2_000_000_000, lambda: 1_000_000_000.0)
    assert not os.path.exists(dead)


def _held(path: str) -> int:
    import fcntl

    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)  # another open file description: it conflicts with Lock's even in-process
    return fd


def test_a_lock_queue_that_moves_is_waited_for_and_one_that_does_not_is_an_error(tmp_path):
    """Fifty parallel stores on a loaded machine queue for the index lock far longer than its
    timeout, each holder quick: every new version of the guarded file restarts the wait. A lock
    under which nothing changes still fails after ``timeout`` (both on an injected clock)."""
    guarded, lock = str(tmp_path / "index"), str(tmp_path / "index.lock")
    holder, now, calls = _held(lock), [0.0], [0]

    def clock() -> float:  # each look at the clock: 3 s pass and the next writer renames a new index in
        calls[0] += 1
        now[0] += 3.0
        if calls[0] < 12:
            write_atomic(guarded, b"version %d\n" % calls[0])
        elif calls[0] == 12:
            os.close(holder)  # the last one before us releases
        return now[0]

    with files.Lock(lock, timeout=10, guards=guarded, clock=clock):
        assert now[0] > 30  # waited well past the timeout, because the queue kept moving
    holder, now[0] = _held(lock), 0.0
    try:
        with pytest.raises(PrivateFileError, match="stayed locked for 10s"):
            with files.Lock(lock, timeout=10, guards=guarded, clock=lambda: now.__setitem__(0, now[0] + 3) or now[0]):
                pass
    finally:
        os.close(holder)


# -- read_user_file: the one reader of files a config points at (token, key, secret_id, host key) ----------


def test_read_user_file_refuses_a_fifo_without_waiting(tmp_path):
    os.mkfifo(tmp_path / "fifo", 0o600)
    with pytest.raises(UnreadableFile) as caught:
        read_user_file(str(tmp_path / "fifo"), 100)
    assert caught.value.rule == "type"


def test_read_user_file_names_the_rule_a_private_file_breaks(tmp_path):
    path = tmp_path / "key"
    path.write_bytes(b"k" * 10)
    path.chmod(0o644)
    assert read_user_file(str(path), 100) == b"k" * 10  # not private: mode does not matter
    for mode, limit, rule in ((0o644, 100, "mode"), (0o604, 100, "mode"), (0o600, 5, "size")):
        path.chmod(mode)
        with pytest.raises(UnreadableFile) as caught:
            read_user_file(str(path), limit, private=True)
        assert caught.value.rule == rule
    path.chmod(0o640)  # group-readable: a host key shared through its group
    assert read_user_file(str(path), 100, private=True) == b"k" * 10
    with pytest.raises(UnreadableFile) as caught:
        read_user_file(str(tmp_path / "missing"), 100)
    assert caught.value.rule == "open" and isinstance(caught.value.error, FileNotFoundError)
