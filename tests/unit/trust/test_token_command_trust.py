"""token_command (issue #12 items 3 and 5): trust is judged on the file that was parsed, never on
a fresh look at a path a symlink flip can redirect; output is capped at 64 KiB."""

from __future__ import annotations

import os

import pytest

from gatepass.config.layers import load_config
from gatepass.engines import command
from gatepass.errors import SecretUnavailableError
from gatepass.secret_sources import read_secret
from tests.conftest import write_config
from tests.support.local_user import local_user, shared_dir

MAX_OUTPUT = 64 * 1024  # the cap issue #12 item 5 asks for


def test_output_beyond_64_kib_is_an_error_not_a_buffer(tmp_path):
    """1 MiB, then the command lingers: the old code buffered every byte (2.4 GiB in 2 s from
    `yes`) until the timeout; now the cap stops it at once. Bounded here so a failure stays cheap."""
    path = write_config(tmp_path / "c.toml", '[[git_provider]]\naccounts = [{ username = "u", token_command = '
                        '["/bin/sh", "-c", "head -c 1048576 /dev/zero | tr \'\\\\0\' y; sleep 30"] }]\n')
    [account] = load_config(dict(os.environ, GATEPASS_CONFIG=str(path))).accounts
    env = dict(os.environ, GATEPASS_COMMAND_TIMEOUT="20")
    with pytest.raises(SecretUnavailableError, match="printed more than 64 KiB") as info:  # not "timed out"
        read_secret(account, env)
    assert "yyy" not in str(info.value)


def test_output_up_to_the_cap_is_fine(tmp_path):
    line = "t" * (MAX_OUTPUT - 1)
    path = write_config(tmp_path / "c.toml", '[[git_provider]]\naccounts = [{ username = "u", '
                        f'token_command = ["/bin/sh", "-c", "printf \'%s\\\\n\' {line}"] }}]\n')
    [account] = load_config(dict(os.environ, GATEPASS_CONFIG=str(path))).accounts
    assert read_secret(account, os.environ).value == line


def test_a_config_changed_since_it_was_parsed_runs_nothing(tmp_path):
    marker = tmp_path / "ran"
    path = write_config(tmp_path / "c.toml", '[[git_provider]]\naccounts = [{ username = "u", '
                        f'token_command = ["/bin/sh", "-c", "touch {marker}; echo tok"] }}]\n')
    [account] = load_config(dict(os.environ, GATEPASS_CONFIG=str(path))).accounts
    os.replace(write_config(tmp_path / "other.toml", "# another file now\n"), path)
    with pytest.raises(SecretUnavailableError, match="changed since it was read"):
        read_secret(account, os.environ)
    assert not marker.exists()


def test_a_symlink_flipped_to_roots_file_after_the_parse_runs_nothing_of_the_other_user():
    """The race of issue #12 item 3, made deterministic: the config path is a symlink in a sticky
    directory, owned by another user. The victim (root) parses it while it points at that user's
    config, then it is flipped to a root-owned file before the command runs. The old check stat'ed
    the path at run time, saw root's file and ran the other user's command as root."""
    with local_user() as user, shared_dir(0o1777) as shared:
        marker = os.path.join(shared, "pwned")
        roots = write_config(os.path.join(shared, "roots.toml"), "# root's own, no command\n")
        theirs, link = os.path.join(shared, "theirs.toml"), os.path.join(shared, "gatepass.toml")
        user.run(["sh", "-c", f"cat > {theirs}; ln -s {theirs} {link}"],
                 input='[[git_provider]]\naccounts = [{ username = "u", token_command = '
                       f'["/bin/sh", "-c", "id -u > {marker}; echo stolen"] }}]\n')
        [account] = load_config(dict(os.environ, GATEPASS_CONFIG=link)).accounts
        user.run(["ln", "-sfn", str(roots), link])  # the flip
        with pytest.raises(SecretUnavailableError):
            read_secret(account, os.environ)
        with pytest.raises(SecretUnavailableError):  # even asked directly with the parsed identity
            command.admit(account, os.environ)
        assert not os.path.exists(marker)
