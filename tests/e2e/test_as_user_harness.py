"""The ``as_user`` harness (tests/support/as_user.py) does what the real-client tests rely on: their
commands, gatepass's launchers included, run as the session's ordinary user, in a directory of its own."""

from __future__ import annotations

import os
import sys

import pytest

from tests.support.as_user import current, python_argv, run_as, system_layer
from tests.support.local_user import needs_root

pytestmark = [pytest.mark.e2e, pytest.mark.as_user, needs_root]  # as an ordinary user, the suite's own user is the one


def test_commands_and_gatepass_run_as_the_ordinary_user_in_its_own_home(tmp_path, isolated_env):
    who = current()
    assert who is not None and who.user.uid != 0
    assert tmp_path == who.tmp and os.stat(tmp_path).st_uid == who.user.uid
    (tmp_path / "written-by-the-test").write_text("x")  # as root: handed over before the user's next command
    done = run_as(["sh", "-c", 'id -u; echo "$HOME"; stat -c %u "$HOME/../written-by-the-test"'],
                  capture_output=True, text=True, check=True)
    assert done.stdout.split() == [str(who.user.uid), isolated_env["HOME"], str(who.user.uid)]
    code = "import os, gatepass; print(os.geteuid(), gatepass.__file__)"
    uid, module = run_as(python_argv(code), capture_output=True, text=True, check=True).stdout.split()
    assert int(uid) == who.user.uid and module.startswith(os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    version = run_as([os.path.join(os.path.dirname(sys.executable), "gatepass"), "--version"], capture_output=True,
                     text=True)
    assert version.returncode == 0, version.stderr



def test_the_system_layers_stay_roots_and_are_shared_with_the_users_group(tmp_path, isolated_env):
    layer = system_layer(isolated_env["GATEPASS_GLOBAL_CONFIG"], "# root's\n")
    done = run_as(["sh", "-c", 'stat -c "%u %a" "$1" "${1%/*}"; cat "$1"', "sh", str(layer)], capture_output=True,
                  text=True, check=True)
    assert done.stdout.splitlines() == ["0 640", "0 755", "# root's"]
