"""The store's own files (index, secrets.enc, machine.key) are read only when they are ours: a FIFO
is refused before any read (it used to hang the helper forever), and a file another user owns or
can write is a clear error, never trusted (issue #12 items 1 and 5)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from gatepass.errors import StoreUnavailableError
from gatepass.stores.encrypted_file import EncryptedFileBackend
from gatepass.stores.index import Entry, Index
from tests.support.local_user import local_user, shared_dir


def outcome(call: Callable[[], object]) -> object:
    """What ``call`` returned or raised, or "hung" (a daemon thread is left; its FIFO gets a writer)."""
    result: list[object] = []

    def run() -> None:
        try:
            result.append(call())
        except Exception as exc:  # noqa: BLE001 - the test looks at it
            result.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(20)
    return result[0] if result else "hung"


def backend(tmp_path: Path) -> EncryptedFileBackend:
    return EncryptedFileBackend(str(tmp_path / "data" / "secrets.enc"), key_file=str(tmp_path / "cfg" / "machine.key"))


def unblock(fifo: Path) -> None:
    """Open the FIFO for writing (non-blocking once a reader waits) so a hung reader ends."""
    try:
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    except OSError:
        pass


@pytest.mark.parametrize("which", ["index", "secrets.enc", "machine.key"])
def test_a_fifo_in_place_of_a_store_file_is_refused_not_waited_on(tmp_path, which):
    backend(tmp_path).set("s", "u", "v")
    Index(str(tmp_path / "data" / "index")).upsert(Entry("git", "https", "h.example", "", "u"))
    target = {"index": tmp_path / "data" / "index", "secrets.enc": tmp_path / "data" / "secrets.enc",
              "machine.key": tmp_path / "cfg" / "machine.key"}[which]
    target.unlink()
    os.mkfifo(target, 0o600)
    read = (lambda: Index(str(target)).entries()) if which == "index" else (lambda: backend(tmp_path).get("s", "u"))
    try:
        result = outcome(read)
    finally:
        unblock(target)
    assert isinstance(result, StoreUnavailableError), result
    assert "not a regular file" in str(result) and str(target) in str(result)


def test_an_index_another_user_owns_or_can_write_is_an_error(tmp_path):
    path = tmp_path / "data" / "index"
    Index(str(path)).upsert(Entry("git", "https", "h.example", "", "u"))
    path.chmod(0o622)
    with pytest.raises(StoreUnavailableError, match="writable by other users"):
        Index(str(path)).entries()
    path.chmod(0o600)
    (tmp_path / "data").chmod(0o777)
    with pytest.raises(StoreUnavailableError, match="writable by other users"):
        Index(str(path)).entries()


def test_root_never_reads_an_index_another_user_wrote():
    """sudo -E: root's XDG_DATA_HOME is the user's, who wrote an index pointing root's helper
    at entries of their choosing. Before, root read it as its own."""
    with local_user() as user, shared_dir(0o1777) as shared:
        data = os.path.join(shared, "data")
        user.run(["mkdir", "-m", "700", data])
        index = os.path.join(data, "index")
        user.run(["sh", "-c", f"umask 077; printf 'gatepass-index 1\\n' > {index}"])
        with pytest.raises(StoreUnavailableError, match="belongs to uid"):
            Index(index).entries()
