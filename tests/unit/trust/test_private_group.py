"""Group write access through the owner's user private group is no one else's (umask 002 on Debian and
Ubuntu makes ``~/.cache`` and ``~/.config`` 0775): gatepass trusts such directories and config files, as
Debian's OpenSSH StrictModes does, and still refuses them once anyone else can write (a second member, a
second user with that primary group, an ACL). Every case runs as real local users the test creates."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.support.local_user import LocalUser, local_user, needs_root, python_for, shared_dir
from tests.support.racy import cacheable

pytestmark = [needs_root, pytest.mark.timeout(120)]

CHECK = """
import json, posix
from gatepass.readback import directory_problem
from gatepass.config.trust import layer_problem
fd = posix.open({config!r}, posix.O_RDONLY)
print(json.dumps([directory_problem({directory!r}), layer_problem({config!r}, fd, posix.fstat(fd))]))
"""


def _home_of(user: LocalUser, shared: str) -> tuple[str, str]:
    """A 0775 tree owned by ``user`` and its private group, as umask 002 leaves it, with a 0664 config."""
    top = Path(shared, user.name)
    cache = top / ".cache" / "gatepass"
    cache.mkdir(parents=True)
    config = top / "config.toml"
    config.write_text('[[git_provider]]\naccounts = [{ username = "u", token_file = "/dev/null" }]\n')
    for path in (top, top / ".cache", cache, config):
        os.chown(path, user.uid, user.gid)
        path.chmod(0o664 if path == config else 0o775)
    return str(cache), str(config)


def _problems(user: LocalUser, directory: str, config: str) -> list[str | None]:
    done = user.run(python_for(user, CHECK.format(directory=directory, config=config)))
    return json.loads(done.stdout)


def test_group_write_through_the_owners_private_group_is_trusted():
    with shared_dir() as shared, local_user() as owner:
        directory, config = _home_of(owner, shared)
        assert _problems(owner, directory, config) == [None, None]


def test_a_second_member_of_the_group_makes_it_writable_by_others():
    with shared_dir() as shared, local_user() as owner, local_user() as other:
        directory, config = _home_of(owner, shared)
        subprocess.run(["gpasswd", "-a", other.name, owner.name], check=True, capture_output=True)
        dir_problem, layer = _problems(owner, directory, config)
        assert dir_problem is not None and "is writable by other users" in dir_problem
        assert layer is not None and "writable by other users" in layer


def test_another_user_with_that_primary_group_makes_it_writable_by_others():
    with shared_dir() as shared, local_user() as owner, local_user() as other:
        directory, config = _home_of(owner, shared)
        subprocess.run(["usermod", "-g", owner.name, other.name], check=True, capture_output=True)
        dir_problem, layer = _problems(owner, directory, config)
        assert dir_problem is not None and layer is not None


def test_an_acl_behind_the_group_bits_is_not_a_private_group():
    with shared_dir() as shared, local_user() as owner, local_user() as other:
        directory, config = _home_of(owner, shared)
        for path in (directory, config):
            subprocess.run(["setfacl", "-m", f"u:{other.name}:rwx", path], check=True)
        dir_problem, layer = _problems(owner, directory, config)
        assert dir_problem is not None and "is writable by other users" in dir_problem
        assert layer is not None and "ACL" in layer


def test_a_helper_keeps_its_parse_cache_under_a_0775_cache_dir():
    """Before, the 0775 ~/.cache made every get a cold parse: the cache was never written there."""
    with shared_dir() as shared, local_user() as owner:
        directory, config = _home_of(owner, shared)
        Path(config).write_text('[[git_provider]]\naccounts = [{ username = "u", token_env = "TOK" }]\n')
        cacheable(Path(config))  # a helper started within the racy window of the write would cache nothing
        env = {"GATEPASS_CONFIG": config, "XDG_CACHE_HOME": os.path.dirname(directory), "TOK": "t"}
        code = "from gatepass.protocol.git import main\nsys.exit(main())"
        done = owner.run([*python_for(owner, code), "get"], env=env, input="protocol=https\nhost=github.com\n")
        assert done.stdout == "username=u\npassword=t\n", done.stderr
        assert [n for n in os.listdir(directory) if n.endswith(".cache")], os.listdir(directory)


def test_a_second_group_entry_with_the_same_gid_makes_it_writable_by_others():
    """``groupadd -o -g <victim gid> dup; gpasswd -a attacker dup``: the attacker now holds the victim's
    gid and can rewrite the 0664 config. Every group entry with that gid counts, not only the first."""
    with shared_dir() as shared, local_user() as owner, local_user() as attacker:
        directory, config = _home_of(owner, shared)
        dup = "gd" + owner.name[2:]
        subprocess.run(["groupadd", "-o", "-g", str(owner.gid), dup], check=True, capture_output=True)
        try:
            subprocess.run(["gpasswd", "-a", attacker.name, dup], check=True, capture_output=True)
            writer = subprocess.run(["setpriv", f"--reuid={attacker.uid}", f"--regid={attacker.gid}", "--init-groups",
                                     "sh", "-c", f"echo '# rewritten' >> {config}"], capture_output=True, text=True)
            assert writer.returncode == 0, writer.stderr  # the attack is real: the attacker can write it
            dir_problem, layer = _problems(owner, directory, config)
            assert dir_problem is not None and "is writable by other users" in dir_problem
            assert layer is not None and "writable by other users" in layer
        finally:
            subprocess.run(["groupdel", dup], capture_output=True)
