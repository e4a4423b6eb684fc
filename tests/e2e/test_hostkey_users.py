"""The host identity shared through a group: its members open sealed values, another local user cannot."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.local_user import command_for, local_user, needs_root, shared_dir

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120), needs_root,
              pytest.mark.root_only(reason="a multi-user attack: root creates the group member and the outsider")]
BIN = Path(sys.executable).parent
TOKEN = "tok-group-shared-93ab"


def test_group_members_open_sealed_values_and_other_users_are_refused_without_the_token():
    with shared_dir() as shared, local_user() as member, local_user() as outsider:
        key = os.path.join(shared, "etc", "host.key")
        env = dict(os.environ, GATEPASS_HOST_KEY=key)
        made = subprocess.run([str(BIN / "gatepass"), "host-key", "--init", "--group", member.name], env=env,
                              capture_output=True, text=True, check=True)
        public = made.stdout.strip()
        st = os.stat(key)
        assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o640, 0, member.gid)
        assert stat.S_IMODE(os.stat(key + ".pub").st_mode) == 0o644
        value = subprocess.run([str(BIN / "gatepass"), "seal", "--to", public, "--kind", "git", "--domain", "git.example",
                                "--username", "deploy"], input=TOKEN + "\n", env=env, capture_output=True, text=True,
                               check=True).stdout
        config = Path(shared, "global.toml")
        config.write_text(f"[[git_provider]]\ndomain = \"git.example\"\n"
                          f"accounts = [{{ username = \"deploy\", token = '''\n{value}''' }}]\n")
        config.chmod(0o644)  # a sealed value may be world-readable
        request = "protocol=https\nhost=git.example\n"
        for user, answers in ((member, True), (outsider, False)):
            user_env = {"GATEPASS_CONFIG": str(config), "GATEPASS_HOST_KEY": key, "XDG_CACHE_HOME": f"{user.home}/.cache"}
            done = user.run([*command_for(user, "git-credential-gatepass"), "get"], env=user_env, input=request,
                            check=False)
            assert TOKEN not in done.stderr
            if answers:
                assert done.stdout == f"username=deploy\npassword={TOKEN}\n", done.stderr
            else:
                assert done.stdout == "" and f"host key {key} is not readable by this user" in done.stderr
                assert f"the host's key is for group {member.name}: ask for membership" in done.stderr  # its group
            shown = user.run([*command_for(user, "gatepass"), "host-key"], env=user_env, check=False)
            assert shown.stdout.strip() == public  # anyone may read the public key, to seal for this host
