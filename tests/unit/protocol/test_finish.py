"""``gatepass.protocol.finish``: the helpers' launchers end with it. Output is never lost, the exit code is
main's, and the interpreter's own exit still runs whenever it has work to do (#14)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[3] / "src")


def run(code: str) -> subprocess.CompletedProcess[str]:
    prelude = f"import sys\nsys.path.insert(0, {SRC!r})\nfrom gatepass.protocol import finish\n"
    return subprocess.run([sys.executable, "-I", "-S", "-c", prelude + code], capture_output=True, text=True,
                          timeout=60)


def test_buffered_output_and_the_exit_code_survive_the_fast_exit():
    done = run("sys.stdout.write('answer, no newline'); sys.stdout.buffer.write(b'') ; "
               "sys.stderr.write('one line'); finish(3)")
    assert (done.returncode, done.stdout, done.stderr) == (3, "answer, no newline", "one line")


def test_the_fast_exit_skips_the_interpreter_teardown():
    """An object's finaliser runs in the normal exit: that it does not here shows the teardown was skipped."""
    done = run("class Noisy:\n    def __del__(self): print('torn down')\nkeep = Noisy()\nfinish(0)")
    assert (done.returncode, done.stdout) == (0, "")


def test_an_atexit_handler_gets_the_normal_exit():
    done = run("import atexit\natexit.register(lambda: print('handler ran'))\nfinish(4)")
    assert (done.returncode, done.stdout) == (4, "handler ran\n")


def test_a_live_thread_gets_the_normal_exit():
    done = run("import threading, time\n"
               "threading.Thread(target=lambda: (time.sleep(0.2), print('thread done'))).start()\nfinish(0)")
    assert (done.returncode, done.stdout) == (0, "thread done\n")


def test_a_loaded_keyring_backend_gets_the_normal_exit():
    """``keyring:<module.Class>`` runs third-party code that may finish its writes on teardown."""
    done = run("import types\nsys.modules['keyring'] = types.ModuleType('keyring')\n"
               "class Pending:\n    def __del__(self): print('flushed on teardown')\nkeep = Pending()\nfinish(0)")
    assert (done.returncode, done.stdout) == (0, "flushed on teardown\n")
