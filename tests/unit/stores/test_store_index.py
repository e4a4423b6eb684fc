"""The store's index: its records round-trip, its key scheme stays stable, 50 parallel writers lose
nothing, and a writer killed with SIGKILL at any point leaves an index that parses."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gatepass.errors import PrivateFileError, StoreUnavailableError
from gatepass.files import Lock
from gatepass.stores import records
from gatepass.stores.index import HEADER, Entry, Index
from tests.support import stepkill

ROOT = Path(__file__).resolve().parents[3]
CHILD_ENV = dict(os.environ, PYTHONPATH=str(ROOT / "src"))


def git(user: str, host: str = "git.example", path: str = "", **kw: object) -> Entry:
    return Entry("git", "https", host, path, user, **kw)  # type: ignore[arg-type]


# -- the format ------------------------------------------------------------------------------

@given(st.lists(st.text(), min_size=1, max_size=6))
def test_records_round_trip_any_text(fields):
    line = records.join(fields)
    assert "\n" not in line and "\r" not in line and "\0" not in line
    assert records.split(line) == fields


@given(kind=st.sampled_from(["git", "docker"]), protocol=st.text(), host=st.text(), path=st.text(), username=st.text(),
       created=st.integers(0, 2**40), expiry=st.none() | st.integers(0, 2**40), refresh=st.booleans())
def test_entry_lines_round_trip(kind, protocol, host, path, username, created, expiry, refresh):
    entry = Entry(kind, protocol, host, path, username, created, created + 1, "encrypted-file", expiry, refresh)
    assert Entry.from_line(entry.to_line()) == entry


def test_entries_round_trip_through_the_file(tmp_path):
    index = Index(str(tmp_path / "index"))
    odd = [git("", path="a\tb\nc%d"), git("ünï", host="h.example:8443"), Entry("docker", "", "ghcr.io", "", "<token>"),
           git("u", expiry=1_700_000_000, refresh=True, backend="secret-service")]
    index.update(lambda entries: odd)
    assert Index(str(tmp_path / "index")).entries() == odd
    text = (tmp_path / "index").read_text()
    assert text.startswith(HEADER + "\n") and text.endswith("\n") and text.count("\n") == 1 + len(odd)


def test_key_scheme_is_stable():
    # Changing any of these orphans every secret users already stored: keep them.
    assert git("alice", host="git.example:8443", path="org/repo.git").service() == "gatepass:git:https://git.example:8443/org/repo.git"
    assert Entry("git", "http", "h.example", "", "").service() == "gatepass:git:http://h.example"
    assert Entry("docker", "", "registry.example:5000", "", "u").service() == "gatepass:docker:registry.example:5000"
    exact = Entry("docker", "", "index.docker.io", "https://index.docker.io/v1/refresh-token", "<token>")
    assert exact.service() == "gatepass:docker:https://index.docker.io/v1/refresh-token"


def test_index_from_env_or_path(tmp_path):
    env = {"HOME": "/nonexistent", "XDG_DATA_HOME": str(tmp_path / "data")}
    assert Index(env).path == str(tmp_path / "data" / "gatepass" / "index")
    assert Index({"HOME": str(tmp_path)}).path == str(tmp_path / ".local" / "share" / "gatepass" / "index")
    assert Index(tmp_path / "x").path == str(tmp_path / "x")


def test_files_are_private(tmp_path):
    index = Index({"HOME": str(tmp_path)})
    index.upsert(git("u"))
    data = Path(index.path).parent
    for made in (data, data.parent, data.parent.parent):  # gatepass/, and share/ and .local/ it had to create
        assert made.stat().st_mode & 0o777 == 0o700, made
    assert Path(index.path).stat().st_mode & 0o777 == 0o600
    assert Path(index.path + ".lock").stat().st_mode & 0o777 == 0o600


# -- damaged files are errors, never "nothing stored" ------------------------------------------

def test_absent_index_is_empty(tmp_path):
    assert Index(str(tmp_path / "none")).entries() == []


@pytest.mark.parametrize("content, why", [
    (b"{}\n", "not a gatepass index"),
    (b"", "not a gatepass index"),
    (HEADER.encode() + b"\ngit\thttps\n", "damaged"),
    (HEADER.encode() + b"\n" + git("u").to_line().encode(), "truncated"),
    (HEADER.encode() + b"\ngit\thttps\th\t\tu\tnot-a-number\t0\tb\t\t\n", "damaged"),
])
def test_damaged_index_is_a_clear_error(tmp_path, content, why):
    path = tmp_path / "index"
    path.write_bytes(content)
    with pytest.raises(StoreUnavailableError, match=why) as info:
        Index(str(path)).entries()
    assert str(path) in str(info.value)
    with pytest.raises(StoreUnavailableError):
        Index(str(path)).upsert(git("u"))  # a write never replaces what it could not read
    assert path.read_bytes() == content


# -- upsert and remove -------------------------------------------------------------------------

def test_upsert_replaces_the_same_key_and_keeps_created(tmp_path):
    index = Index(str(tmp_path / "index"))
    assert index.upsert(git("alice", created=100, updated=100)) is None
    index.upsert(git("bob"))
    replaced = index.upsert(git("alice", path="", backend="secret-service", updated=200))
    assert replaced is not None and replaced.created == 100
    entries = index.entries()
    assert [e.username for e in entries] == ["bob", "alice"]
    assert (entries[1].created, entries[1].updated, entries[1].backend) == (100, 200, "secret-service")
    assert entries[0].created > 1_600_000_000 and entries[0].updated == entries[0].created
    index.upsert(git("alice", path="org/repo"))  # a git path is part of the key
    assert len(index.entries()) == 3


def test_docker_keeps_one_entry_per_server_whatever_the_user(tmp_path):
    index = Index(str(tmp_path / "index"))
    index.upsert(Entry("docker", "", "ghcr.io", "", "first"))
    index.upsert(Entry("docker", "", "ghcr.io", "", "second"))
    index.upsert(Entry("docker", "", "ghcr.io", "https://ghcr.io/token", "second"))  # an exact key is its own entry
    assert [(e.path, e.username) for e in index.entries()] == [("", "second"), ("https://ghcr.io/token", "second")]


def test_remove_returns_what_it_removed(tmp_path):
    index = Index(str(tmp_path / "index"))
    for user in ("a", "b", "c"):
        index.upsert(git(user))
    removed = index.remove(lambda e: e.username in ("a", "c"))
    assert [e.username for e in removed] == ["a", "c"]
    assert [e.username for e in index.entries()] == ["b"]
    assert index.remove(lambda e: False) == []


def test_a_held_lock_is_a_clear_error_not_a_hang(tmp_path):
    lock = tmp_path / "index.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        started = time.monotonic()
        with pytest.raises(PrivateFileError, match="stayed locked"):
            with Lock(str(lock), timeout=0.2):
                pass
        assert time.monotonic() - started < 1
    finally:
        os.close(fd)


# -- real processes: nothing lost, nothing torn -------------------------------------------------

WRITER = """
import os, sys, time
from gatepass.stores.index import Entry, Index
path, go, user = sys.argv[1:]
while not os.path.exists(go):
    time.sleep(0.002)
Index(path).upsert(Entry("git", "https", "race.example", "", user))
"""


def test_fifty_parallel_writers_leave_fifty_entries(tmp_path):
    path, go = str(tmp_path / "data" / "index"), tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, path, str(go), f"user{i:02}"], env=CHILD_ENV)
             for i in range(50)]
    time.sleep(0.3)
    go.touch()  # all start their read-modify-write at once
    assert [p.wait(120) for p in procs] == [0] * 50
    assert sorted(e.username for e in Index(path).entries()) == [f"user{i:02}" for i in range(50)]


UPSERT = """
from gatepass.stores.index import Entry, Index
Index(sys.argv[1]).upsert(Entry("git", "https", "kill.example", "", sys.argv[2]))
"""
SEED = ["seed0", "seed1", "seed2"]


def _seeded(directory: Path) -> str:
    directory.mkdir(mode=0o700)
    path = str(directory / "index")
    Index(path).update(lambda _: [git(user, path="x" * 5000) for user in SEED])
    return path


def _users(path: str) -> list[str]:
    return sorted(e.username for e in Index(path).entries())  # raises if the kill had torn the index


def test_sigkill_at_every_step_of_a_write_leaves_the_old_or_the_new_index(tmp_path):
    """Deterministic, not a race (tests/support/stepkill.py): a traced run lists every file-system call
    one ``upsert`` makes; then, for each call (and halfway through each write), a fresh writer is
    SIGKILLed just there. Before the rename the old index is whole, after it the new one."""
    calls = stepkill.trace(UPSERT, [_seeded(tmp_path / "trace"), "new"], CHILD_ENV)
    renamed_at = next((i for i, name in enumerate(calls) if name in ("replace", "rename")), None)
    assert renamed_at is not None, f"upsert never renames a temp file over the index, so it is not atomic: {calls}"
    points = stepkill.points(calls)
    assert len(points) > 6 and any(p.endswith("-half") for p in points)
    for point in points:
        directory = tmp_path / f"kill-{point}"
        path = _seeded(directory)
        stepkill.kill_at(point, UPSERT, [path, "new"], CHILD_ENV)
        step = int(point.partition("-")[0])
        assert _users(path) == (SEED if step <= renamed_at else sorted([*SEED, "new"])), point
        Index(path).upsert(git("after"))  # the next writer sweeps what the killed one left
        assert set(os.listdir(directory)) <= {"index", "index.lock"}, point
        assert "after" in _users(path)


def test_reading_the_index_imports_nothing_heavy(tmp_path):
    path = str(tmp_path / "index")
    Index(path).update(lambda _: [git(f"u{i}") for i in range(1000)])
    code = ("import sys, time; t = time.perf_counter(); from gatepass.stores.index import Index;"
            f"n = len(Index({path!r}).entries()); t = time.perf_counter() - t;"
            "print(n, t, sorted(m for m in ('json', 're', 'typing', 'dataclasses', 'enum') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-I", "-c", code], env=CHILD_ENV, capture_output=True, text=True,
                         check=True).stdout.split(" ", 2)
    assert out[0] == "1000" and out[2].strip() == "[]"
    assert float(out[1]) < 0.25, f"import + parse of 1000 entries took {out[1]} s"


def test_lone_surrogates_from_docker_json_round_trip(tmp_path):
    import json

    user = json.loads('"bot\\ud800"')  # what docker's store request may carry
    index = Index(str(tmp_path / "index"))
    index.upsert(Entry("docker", "", "r.example", "", user))
    assert [e.username for e in Index(str(tmp_path / "index")).entries()] == [user]


# -- a get reads only its own host's lines (#14) -------------------------------------------------

@given(st.lists(st.sampled_from(["a.example", "a.example:8443", "b.example", "xa.example", "a.example.evil",
                                 "[::1]:5000", "tab\thost"]), max_size=12),
       st.sampled_from(["a.example", "b.example", "[::1]", "tab\thost"]))
def test_entries_for_hosts_are_exactly_the_filtered_whole(tmp_path_factory, hosts, wanted):
    path = str(tmp_path_factory.mktemp("i") / "index")
    Index(path).update(lambda _: [git(f"u{i}", host=h, path=wanted if i % 3 == 0 else "") for i, h in enumerate(hosts)])
    whole = Index(path).entries()
    some = Index(path).entries([wanted])
    # A superset of the host's entries, in index order (the caller compares the parsed host field).
    assert [e for e in whole if e.host.rsplit(":", 1)[0] == wanted or e.host == wanted] == \
        [e for e in some if e.host.rsplit(":", 1)[0] == wanted or e.host == wanted]
    assert all(e in whole for e in some)


def test_a_damaged_line_of_another_host_is_still_an_error(tmp_path):
    path = tmp_path / "index"
    path.write_bytes(HEADER.encode() + b"\n" + git("u", host="a.example").to_line().encode() + b"\ngit\thttps\n")
    with pytest.raises(StoreUnavailableError, match="damaged"):
        Index(str(path)).entries(["a.example"])
