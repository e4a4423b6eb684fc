"""Layer files old enough for the parse cache: a config changed within the racy window of a parse is
not cached (git's racy rule, ``gatepass.config.cache.racy``), so a test that expects a warm second run
must not start the first one within ~20 ms of its last write, which an idle machine easily does.

``cacheable`` waits until the clock has passed a fixed point computed from the file's own stamps; no
load can undo that, unlike a fixed sleep, and it is never longer than needed. ``os.utime`` alone
cannot do it: it sets mtime but stamps ctime with now, and the rule looks at both.
"""

from __future__ import annotations

import time
from pathlib import Path

from gatepass.config.cache import RACY_NS, RACY_WHOLE_SECOND_NS


def settled_at(path: Path | str) -> int:
    """The first ``time.time_ns()`` at which a parse of ``path`` as it is now is cacheable."""
    st = Path(path).stat()
    whole = st.st_mtime_ns % 1_000_000_000 == 0 and st.st_ctime_ns % 1_000_000_000 == 0
    return max(st.st_mtime_ns, st.st_ctime_ns) + (RACY_WHOLE_SECOND_NS if whole else RACY_NS) + 1


def cacheable(path: Path) -> Path:
    """``path``, once a parse started now would be cached (call it after the file's last change)."""
    settled = settled_at(path)
    while time.time_ns() <= settled:
        time.sleep(0.005)
    return path
