"""Every store rule the README promises, pinned here and not only by git's t0303 (issue #15).

Each test drives the real helpers in-process (``git.main``/``docker.main``) against the real
encrypted-file backend, and looks at both the index and the backend's own items, so a secret left
behind with no entry pointing at it is seen. Each rule was hand-mutated once to check its test
fails (the list is in the commit that added this file).
"""

from __future__ import annotations

import io
import json
import os
import posix
import stat
import time

import pytest

from gatepass.protocol import docker, git
from gatepass.stores.encrypted_file import EncryptedFileBackend, from_settings
from gatepass.stores.index import Entry, Index
from gatepass.stores.layer import Store


@pytest.fixture
def env(isolated_env):
    return dict(os.environ, GATEPASS_STORE_BACKEND="encrypted-file")


def _git(action: str, lines: list[str], env: dict[str, str]) -> str:
    out, err = io.BytesIO(), io.BytesIO()
    assert git.main([action], io.BytesIO(("\n".join(lines) + "\n").encode()), out, err, env) == 0
    assert err.getvalue() == b"", err.getvalue()
    return out.getvalue().decode()


def _docker(action: str, data: str, env: dict[str, str]) -> tuple[int, str]:
    out = io.BytesIO()
    code = docker.main([action], io.BytesIO(data.encode()), out, io.BytesIO(), env)
    return code, out.getvalue().decode()


def _login(server: str, username: str, secret: str, env: dict[str, str]) -> None:
    assert _docker("store", json.dumps({"ServerURL": server, "Username": username, "Secret": secret}), env) == (0, "")


def _stored(env: dict[str, str]) -> list[tuple[str, ...]]:
    return sorted((e.kind, e.host, e.path, e.username) for e in Index(env).entries())


def _secrets(env: dict[str, str]) -> list[tuple[str, str]]:
    return sorted(from_settings(env, {}).items())


def _git_store(env: dict[str, str], username: str, password: str, path: str | None = None, *extra: str) -> None:
    lines = ["protocol=https", "host=git.example", f"username={username}", f"password={password}", *extra]
    _git("store", lines + ([f"path={path}"] if path is not None else []), env)


# -- the atomic writer -------------------------------------------------------------------------

def _record_syncs(monkeypatch) -> list[tuple[str, int]]:  # type: ignore[no-untyped-def]
    """Every fsync (what: file or dir, its inode) and every rename/link, in order."""
    events: list[tuple[str, int]] = []
    real_fsync, real_replace, real_rename, real_link = os.fsync, os.replace, os.rename, os.link

    def fsync(fd: int) -> None:
        st = os.fstat(fd)
        events.append(("fsync-dir" if stat.S_ISDIR(st.st_mode) else "fsync-file", st.st_ino))
        real_fsync(fd)

    def renamed(name, real):  # type: ignore[no-untyped-def]
        def call(src, dst, *args, **kwargs):  # type: ignore[no-untyped-def]
            real(src, dst, *args, **kwargs)
            events.append((name, os.stat(dst).st_ino))
        return call

    for module in (os, posix):  # gatepass.files calls posix directly (no os on the warm path)
        monkeypatch.setattr(module, "fsync", fsync)
        monkeypatch.setattr(module, "replace", renamed("rename", real_replace))
        monkeypatch.setattr(module, "rename", renamed("rename", real_rename))
        monkeypatch.setattr(module, "link", renamed("rename", real_link))
    return events


WRITERS = {
    "index": lambda tmp: Index(str(tmp / "data" / "index")).upsert(Entry("git", "https", "h", "", "u")),
    "secrets.enc": lambda tmp: EncryptedFileBackend(str(tmp / "data" / "secrets.enc"), key=b"k" * 32).set("s", "u", "p"),
    "machine.key": lambda tmp: EncryptedFileBackend._machine_key(str(tmp / "keys" / "machine.key"), True),
}
WRITTEN = {"index": "data/index", "secrets.enc": "data/secrets.enc", "machine.key": "keys/machine.key"}


@pytest.mark.parametrize("writer", list(WRITERS))
def test_the_atomic_writer_fsyncs_the_file_before_the_rename_and_the_directory_after(tmp_path, monkeypatch, writer):
    (tmp_path / "data").mkdir(mode=0o700)
    (tmp_path / "keys").mkdir(mode=0o700)
    events = _record_syncs(monkeypatch)
    WRITERS[writer](tmp_path)
    final = tmp_path / WRITTEN[writer]
    file_inode, dir_inode = final.stat().st_ino, final.parent.stat().st_ino
    renames = [i for i, (what, inode) in enumerate(events) if what == "rename" and inode == file_inode]
    assert len(renames) == 1, events
    assert ("fsync-file", file_inode) in events[:renames[0]], f"the file is not fsynced before its rename: {events}"
    assert ("fsync-dir", dir_inode) in events[renames[0]:], f"the directory is not fsynced after the rename: {events}"


# -- erase -------------------------------------------------------------------------------------

def test_git_erase_with_a_path_erases_only_that_path(env):
    _git_store(env, "u", "pa", "org/a.git")
    _git_store(env, "u", "pb", "org/b.git")
    _git("erase", ["protocol=https", "host=git.example", "username=u", "path=org/a.git"], env)
    assert _stored(env) == [("git", "git.example", "org/b.git", "u")]
    assert _secrets(env) == [("gatepass:git:https://git.example/org/b.git", "u")]


def test_git_erase_with_a_username_erases_only_that_users_entries_and_without_one_every_user(env):
    for user in ("u1", "u2", "u3"):
        _git_store(env, user, f"pw-{user}")
    _git("erase", ["protocol=https", "host=git.example", "username=u1"], env)
    assert [e[3] for e in _stored(env)] == ["u2", "u3"]
    _git("erase", ["protocol=https", "host=git.example"], env)
    assert _stored(env) == [] and _secrets(env) == []


def test_git_erase_with_a_password_erases_only_entries_holding_it(env):
    _git_store(env, "u1", "same")
    _git_store(env, "u2", "other")
    _git("erase", ["protocol=https", "host=git.example", "password=wrong"], env)
    assert [e[3] for e in _stored(env)] == ["u1", "u2"]
    _git("erase", ["protocol=https", "host=git.example", "password=same"], env)
    assert [e[3] for e in _stored(env)] == ["u2"]
    assert _secrets(env) == [("gatepass:git:https://git.example", "u2")]


def test_store_erase_password_match_directly(env):
    store = Store(env, {})
    store.save(Entry("git", "https", "h", "", "a"), "pa")
    store.save(Entry("git", "https", "h", "", "b"), "pb")
    assert [e.username for e in store.erase(lambda e: True, password="pb")] == ["b"]
    assert [e.username for e in store.index.entries()] == ["a"]


def test_docker_erase_of_a_registry_keeps_its_refresh_token_key(env):
    _login("https://index.docker.io/v1/", "bot", "pw", env)
    _login("https://index.docker.io/v1/refresh-token", "<token>", "identity-token", env)
    assert _docker("erase", "https://index.docker.io/v1/", env) == (0, "")
    code, answer = _docker("get", "https://index.docker.io/v1/refresh-token", env)
    assert code == 0 and json.loads(answer)["Secret"] == "identity-token"
    assert _docker("get", "https://index.docker.io/v1/", env) == (1, docker.NOT_FOUND + "\n")
    assert _secrets(env) == [("gatepass:docker:https://index.docker.io/v1/refresh-token", "<token>")]


# -- what is never stored or returned ----------------------------------------------------------

def test_an_expired_entry_is_never_returned(env):
    now = int(time.time())
    _git_store(env, "old", "expired", None, f"password_expiry_utc={now + 3600}")
    _git_store(env, "new", "fresh", None, f"password_expiry_utc={now + 7200}")
    Index(env).update(lambda entries: [*[e for e in entries if e.username == "new"],
                                       *[Entry(e.kind, e.protocol, e.host, e.path, e.username, e.created, e.updated,
                                               e.backend, now - 1, e.refresh) for e in entries if e.username == "old"]])
    assert _git("get", ["protocol=https", "host=git.example", "username=old"], env) == ""
    assert "password=fresh" in _git("get", ["protocol=https", "host=git.example"], env)
    assert [a.username for a in Store(env, {}).accounts("git")] == ["new"]


def test_an_already_expired_credential_is_not_stored(env):
    _git_store(env, "u", "stale", None, f"password_expiry_utc={int(time.time()) - 60}")
    assert _stored(env) == [] and _secrets(env) == []
    _git_store(env, "u", "good", None, f"password_expiry_utc={int(time.time()) + 60}")  # the control
    assert _stored(env) == [("git", "git.example", "", "u")]


@pytest.mark.parametrize("value", ["1", "true"])
def test_an_ephemeral_credential_is_not_stored(env, value):
    _git_store(env, "u", "one-time", None, f"ephemeral={value}")
    assert _stored(env) == [] and _secrets(env) == []
    _git_store(env, "u", "kept", None, "ephemeral=0")  # the control
    assert _stored(env) == [("git", "git.example", "", "u")]


def test_replacing_a_docker_login_leaves_no_orphan_secret(env):
    _login("registry.example", "first", "pw1", env)
    _login("registry.example", "second", "pw2", env)
    assert _stored(env) == [("docker", "registry.example", "", "second")]
    assert _secrets(env) == [("gatepass:docker:registry.example", "second")]
    assert json.loads(_docker("get", "registry.example", env)[1])["Username"] == "second"


def test_replacing_a_git_credential_without_its_refresh_token_leaves_no_orphan(env):
    _git_store(env, "u", "pw1", None, "oauth_refresh_token=r1")
    assert len(_secrets(env)) == 2
    _git_store(env, "u", "pw2")
    assert _secrets(env) == [("gatepass:git:https://git.example", "u")]


# -- git's request parsing ---------------------------------------------------------------------

def test_the_last_value_of_a_repeated_attribute_wins(env):
    """As git's credential.c reads them (a repeated protocol, host or path is refused instead)."""
    _git_store(env, "u", "right")
    _git_store(env, "w", "other")
    answer = _git("get", ["protocol=https", "host=git.example", "username=w", "username=u"], env)
    assert answer == "username=u\npassword=right\n"
    # except protocol, host and path: git sends each once, a second one is smuggled (#11 item 5)
    out, err = io.BytesIO(), io.BytesIO()
    assert git.main(["get"], io.BytesIO(b"protocol=https\nhost=wrong.example\nhost=git.example\n"), out, err, env) == 0
    assert out.getvalue() == b"" and err.getvalue().count(b"\n") == 1
    _git("store", ["protocol=https", "host=git.example", "username=v", "password=first", "password=second"], env)
    assert "password=second" in _git("get", ["protocol=https", "host=git.example", "username=v"], env)
