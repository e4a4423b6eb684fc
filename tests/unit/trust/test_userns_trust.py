"""Root's directories inside a user namespace that hides root (rootless podman): trusted only as recorded.

The namespace is simulated here (``files`` told that root is unmapped and which uid is the overflow
uid; root chowns directories to that uid), so the record's own rules are tested without podman;
tests/e2e/test_rootless_containers.py runs the real thing as an ordinary user.
"""

from __future__ import annotations

import json
import os

import pytest

from gatepass import files, ownership, readback
from gatepass.cli import rootrecord

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="chowns directories to another uid: needs root (CI runs as root)")
OVERFLOW = 54321  # stands for 65534: any user the namespace does not map, root included


@pytest.fixture
def inside(monkeypatch, tmp_path):
    """Call to enter the simulated namespace (the record is read afresh)."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))

    def enter() -> None:
        monkeypatch.setattr(ownership, "_UNMAPPED", [True])
        monkeypatch.setattr(ownership, "_OVERFLOW", [OVERFLOW])
        monkeypatch.setattr(ownership, "_RECORD", [])
    return enter


def unmapped_dir(path) -> str:
    os.makedirs(path, 0o755)
    os.chown(path, OVERFLOW, OVERFLOW)
    return str(path)


def write_record(entries, path=None) -> str:
    path = path or ownership.root_record_path()
    files.write_atomic(path, json.dumps({"root_owned": entries}).encode())
    return path


def entry(path: str) -> list[object]:
    st = os.lstat(path)
    return [path, st.st_dev, st.st_ino]


def test_outside_a_namespace_the_overflow_uid_is_just_another_user(tmp_path):
    box = unmapped_dir(tmp_path / "box")
    write_record([entry(box)])
    assert readback.directory_problem(box) == f"{box} belongs to uid {OVERFLOW}"


def test_a_recorded_directory_is_trusted_and_one_put_in_its_place_is_not(tmp_path, inside):
    box = unmapped_dir(tmp_path / "box")
    write_record([entry(os.path.dirname(box)), entry(box)])
    inside()
    assert readback.directory_problem(box) is None
    os.rename(box, box + ".old")
    unmapped_dir(box)  # same path and owner as seen inside, another inode
    inside()
    assert readback.directory_problem(box).startswith(f"{box} belongs to uid {OVERFLOW} (rootless podman's")


def test_an_unrecorded_directory_is_refused_with_the_fix(tmp_path, inside):
    box = unmapped_dir(tmp_path / "box")
    inside()
    assert readback.directory_problem(box).endswith("run gatepass setup containers outside them)")


def test_a_writable_recorded_directory_is_refused(tmp_path, inside):
    box = unmapped_dir(tmp_path / "box")
    os.chmod(box, 0o775)  # its group is unmapped too: never judged a private group
    write_record([entry(box)])
    inside()
    assert readback.directory_problem(box) == f"{box} is writable by other users"


def test_a_record_is_believed_only_where_its_own_directories_pass(tmp_path, inside, monkeypatch):
    """A record lying in a directory the namespace cannot vouch for (an unrecorded overflow-uid
    directory: another user's, perhaps) names nothing, even the directory itself."""
    box = unmapped_dir(tmp_path / "box")
    data = box + "/data"
    os.makedirs(data, 0o700)
    monkeypatch.setenv("XDG_DATA_HOME", data)
    write_record([entry(str(tmp_path)), entry(box)])  # claims box, which holds the record itself
    inside()
    assert readback.directory_problem(box) is None  # the claim holds up: box is recorded, so the record's chain passes
    other = unmapped_dir(tmp_path / "other")
    write_record([entry(other)])  # box itself is not on it: the record's own chain fails
    inside()
    assert readback.directory_problem(other) is not None


def test_setup_records_root_directories_and_not_another_users(tmp_path, monkeypatch):
    mine = tmp_path / "theirs" / "mine"
    mine.mkdir(parents=True)
    os.chown(tmp_path / "theirs", OVERFLOW, OVERFLOW)
    for name in ("XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME"):
        monkeypatch.setenv(name, str(mine / name))
    monkeypatch.setattr(ownership, "_UNMAPPED", [False])
    path = rootrecord.record(os.environ)
    recorded = {p for p, _, _ in json.loads(open(path).read())["root_owned"]}
    assert {"/", str(tmp_path)} <= recorded and str(tmp_path / "theirs") not in recorded
    monkeypatch.setattr(ownership, "_UNMAPPED", [True])
    assert rootrecord.record(os.environ) is None  # inside a namespace nothing can be seen to be root's
