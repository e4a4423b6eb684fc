"""Trust rules pinned one by one (issue #29): each test fails when its one rule is removed, even where
another check would catch the usual attack shape first (docs/design.md "Trust boundaries").

"Another user" is a uid other than root's and ours: as root a file is simply given to uid 4242; as
any other user the tests that need it skip.
"""

from __future__ import annotations

import grp
import os
import subprocess
from pathlib import Path

import pytest

from gatepass.config import trust
from gatepass.config.layers import load_config
from gatepass.errors import PrivateFileError
from gatepass.files import Lock, create_new
from gatepass.readback import UnreadableFile, read_private, read_user_file
from tests.conftest import write_config

OTHER_UID = 4242
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="gives a file to another uid: needs root (CI runs as root)")
VAULT = '[vault]\naddress = "https://vault.example"\nrole_id = "r"\nsecret_id_file = "/s"\n'
ENGINE_ACCOUNT = '[[git_provider]]\naccounts = [{ username = "bot", vault = { path = "secret/data/x", field = "t" } }]\n'


def loaded(path: Path | str):
    return load_config(dict(os.environ, GATEPASS_CONFIG=str(path)))


def nogroup() -> int:
    """A group that is not the owner's private group (root's own group is private to root)."""
    return grp.getgrnam("nogroup").gr_gid


# -- a layer another user could rewrite ------------------------------------------------------------


@as_root
@pytest.mark.parametrize("mode", [0o600, 0o644], ids=["0600", "0644"])
def test_a_layer_owned_by_another_user_in_a_directory_of_ours_contributes_no_secret(tmp_path, mode):
    """The directory is ours and not writable by others, so only the file's owner rule can refuse it."""
    path = write_config(tmp_path / "conf" / "c.toml",
                        '[[git_provider]]\naccounts = [{ username = "u", token_env = "VICTIM" }]\n', mode)
    os.chown(path, OTHER_UID, -1)
    [account] = loaded(path).accounts
    assert f"belongs to uid {OTHER_UID}" in account.untrusted


def test_a_symlinked_layer_whose_target_lies_in_a_directory_others_can_write_contributes_no_secret(tmp_path):
    """The link sits in a directory of ours: only the resolved path's chain shows the writable directory."""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)  # not sticky: anyone can replace what is in it
    target = write_config(shared / "real.toml", '[[git_provider]]\naccounts = [{ username = "u", token_env = "V" }]\n')
    (tmp_path / "conf").mkdir()
    link = tmp_path / "conf" / "c.toml"
    link.symlink_to(target)
    [account] = loaded(link).accounts
    assert "writable by other users" in account.untrusted and str(shared) in account.untrusted


@pytest.mark.parametrize("entry", ["g:nogroup:r", "u:nobody:r"])
def test_an_acl_read_grant_to_a_named_group_or_user_refuses_inline_tokens(tmp_path, entry):
    path = write_config(tmp_path / "c.toml", '[[git_provider]]\naccounts = [{ username = "u", token = "inline-secret" }]\n',
                        0o640)
    subprocess.run(["setfacl", "-m", entry, str(path)], check=True)
    assert not os.stat(path).st_mode & 0o004  # the mode bits alone would let it through
    config = loaded(path)
    assert [bool(a.untrusted) for a in config.accounts] == [True]  # listed, marked; it gives no secret
    assert any("an ACL lets other users read it" in e for e in config.errors)


def test_a_layer_swapped_while_it_was_read_is_noticed(tmp_path):
    """Judged on the descriptor that was parsed: when the path names another file by then, no secret."""
    path = write_config(tmp_path / "c.toml", "")
    fd = os.open(path, os.O_RDONLY)
    try:
        st = os.fstat(fd)
        assert trust.layer_problem(str(path), fd, st) is None
        write_config(tmp_path / "other.toml", "")
        os.replace(tmp_path / "other.toml", path)  # same owner, mode and directory: only the inode differs
        problem = trust.layer_problem(str(path), fd, st)
    finally:
        os.close(fd)
    assert problem is not None and "changed while it was read" in problem


# -- the guard on [vault] and other engine tables ---------------------------------------------------
# Two guards stand: the layer's (an untrusted layer's tables are not merged) and the schema's own
# (the table is dropped with a line). Each is pinned with the other switched off.


def _engine_layer(tmp_path: Path, mode: int = 0o600, *, owner: int = -1, shared_dir: bool = False) -> Path:
    directory = tmp_path / ("shared" if shared_dir else "conf")
    path = write_config(directory / "c.toml", VAULT + ENGINE_ACCOUNT, mode)
    if shared_dir:
        directory.chmod(0o777)
    if owner != -1:
        os.chown(path, owner, -1)
    return path


CASES = [pytest.param({"owner": OTHER_UID}, "belongs to uid", marks=as_root, id="another-users-file"),
         pytest.param({"shared_dir": True}, "writable by other users", id="directory-others-can-write"),
         pytest.param({"mode": 0o602}, "other users can write the file", id="world-write-alone")]


@pytest.mark.parametrize("how, words", CASES)
def test_the_schema_ignores_an_engine_table_others_could_change(tmp_path, monkeypatch, how, words):
    monkeypatch.setattr(trust, "layer_problem", lambda path, fd, st: None)  # the layer's guard off
    config = loaded(_engine_layer(tmp_path, **how))
    assert "vault" not in config.engines
    assert any("vault: is ignored:" in e and words in e for e in config.errors), config.errors


@pytest.mark.parametrize("how", [{"mode": 0o602}, {"shared_dir": True},
                                 pytest.param({"owner": OTHER_UID}, marks=as_root)])
def test_an_untrusted_layer_contributes_no_engine_table_even_when_the_schema_lets_it(tmp_path, monkeypatch, how):
    from gatepass.config import settings

    monkeypatch.setattr(settings, "_writers_problem", lambda path: None)  # the schema's guard off
    config = loaded(_engine_layer(tmp_path, **how))
    assert "vault" not in config.engines and any("contributes no secret" in e for e in config.errors)


def test_a_trusted_layers_engine_table_is_kept(tmp_path):
    """The counterpart: the guards above must not refuse everything."""
    assert loaded(_engine_layer(tmp_path)).engines["vault"]["address"] == "https://vault.example"


# -- files a config points at, and gatepass's own files ---------------------------------------------


@as_root
def test_read_user_file_private_refuses_a_key_owned_by_another_user(tmp_path):
    key = tmp_path / "key"
    key.write_bytes(b"AGE-SECRET-KEY-1X\n")
    key.chmod(0o600)
    os.chown(key, OTHER_UID, -1)
    assert read_user_file(str(key), 4096) == b"AGE-SECRET-KEY-1X\n"  # a token_file: any owner
    with pytest.raises(UnreadableFile) as caught:
        read_user_file(str(key), 4096, private=True)
    assert caught.value.rule == "owner" and caught.value.uid == OTHER_UID


def test_read_user_file_private_refuses_a_key_larger_than_its_cap(tmp_path):
    """Not a truncated key: the cap is a refusal (read_fd alone would stop at the limit)."""
    key = tmp_path / "key"
    key.write_bytes(b"k" * 101)
    key.chmod(0o600)
    assert read_user_file(str(key), 100) == b"k" * 100  # not private: the first bytes
    with pytest.raises(UnreadableFile) as caught:
        read_user_file(str(key), 100, private=True)
    assert caught.value.rule == "size"
    key.write_bytes(b"k" * 100)
    assert read_user_file(str(key), 100, private=True) == b"k" * 100


def test_read_private_refuses_a_file_over_its_cap_by_its_size(tmp_path):
    path = tmp_path / "index"
    path.write_bytes(b"x" * 11)
    path.chmod(0o600)
    with pytest.raises(PrivateFileError, match="is larger than 10 bytes"):
        read_private(str(path), 10)
    assert read_private(str(path), 11) == b"x" * 11


def test_read_private_refuses_a_file_that_reads_longer_than_its_size_said():
    """A file whose fstat size is no bound (/proc's say 0) still never yields more than the cap."""
    with pytest.raises(PrivateFileError, match="grew past 10 bytes"):
        read_private("/proc/self/status", 10)


def test_create_new_never_replaces_a_file_already_there(tmp_path):
    """Two racing first writers of the machine key: the second gets FileExistsError, the first's key stays."""
    (tmp_path / "keys").mkdir()
    path = tmp_path / "keys" / "machine.key"
    create_new(str(path), b"first")
    with pytest.raises(FileExistsError):
        create_new(str(path), b"second")
    assert path.read_bytes() == b"first" and os.stat(path).st_mode & 0o777 == 0o600
    assert os.listdir(tmp_path / "keys") == ["machine.key"]  # no temp file left behind


def test_a_lock_path_that_is_a_symlink_is_never_followed(tmp_path):
    """Even to a regular file of our own: O_NOFOLLOW, not the owner check, refuses it."""
    target = tmp_path / "ours"
    target.write_bytes(b"")
    target.chmod(0o600)
    (tmp_path / "index.lock").symlink_to(target)
    with pytest.raises(PrivateFileError, match="cannot open lock"):
        with Lock(str(tmp_path / "index.lock"), timeout=1):
            pass


@as_root
def test_host_key_init_with_group_leaves_the_key_0640_in_that_group(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from gatepass.cli.main import cli

    path = tmp_path / "keys" / "host.key"
    monkeypatch.setenv("GATEPASS_HOST_KEY", str(path))
    done = CliRunner().invoke(cli, ["host-key", "--init", "--group", "nogroup"], catch_exceptions=False)
    assert done.exit_code == 0, done.output
    st = os.stat(path)
    assert (st.st_mode & 0o777, st.st_gid) == (0o640, nogroup())
    assert done.stdout.strip() == (tmp_path / "keys" / "host.key.pub").read_text().strip()


@pytest.mark.parametrize("entries", ["u:nobody:---", "g:nogroup:-w-", "u:nobody:r,m::---"],
                         ids=["named-user-nothing", "named-group-write-only", "read-masked-out"])
def test_an_acl_that_lets_no_other_user_read_keeps_inline_tokens(tmp_path, entries):
    """The counterpart: the owner's and owning group's entries are not grants to others, nor is a
    named entry the mask takes back (a write-only grant is the writer rule's business, not this one's)."""
    path = write_config(tmp_path / "c.toml", '[[git_provider]]\naccounts = [{ username = "u", token = "inline-secret" }]\n',
                        0o640)
    subprocess.run(["setfacl", "-m", entries, str(path)], check=True)
    config = loaded(path)
    assert not any("an ACL lets other users read it" in e for e in config.errors), config.errors


@pytest.mark.parametrize("data", [b"", b"# created: 2026-01-01\n# only comments\n\n"], ids=["empty", "comments-only"])
def test_a_host_key_file_without_an_identity_is_refused_naming_the_formats(data):
    from gatepass.hostkey import HostKeyError, parse_identities

    with pytest.raises(HostKeyError, match="is neither an age identity file"):
        parse_identities("/etc/gatepass/host.key", data)
