"""Following a Secret Service prompt the way libsecret does, over ``stores/dbus.py``.

Spec: Secret Service API, "Prompts and Prompting". A call that needs the user's consent returns a
prompt object instead of its result; the client calls ``Prompt(window-id)`` (``""``: no parent
window, as libsecret passes from a terminal) and waits for the prompt's ``Completed(dismissed,
result)`` signal. Signals reach a connection only through a match rule, so one is added first,
for exactly that object and the unique name that handed it out; the signal is taken from that
sender only. Everything happens before ``deadline``; a prompt nobody completes in time is
withdrawn with ``Dismiss`` (its window, if any, goes away) and the caller hears ``TimeoutError``.
"""

from __future__ import annotations

import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from gatepass.stores.dbus import Connection
    from gatepass.stores.secret_service import SecretServiceBackend

BUS = ("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus")
PROMPT_IFACE = "org.freedesktop.Secret.Prompt"


def _left(deadline: float) -> float:
    return max(deadline - time.monotonic(), 0.001)


def follow(conn: Connection, service: str, owner: str, prompt: str, deadline: float) -> tuple[bool, Any]:
    """(dismissed, result) of ``prompt``, handed out by the unique name ``owner`` (which answers as
    ``service``). Raises TimeoutError (the prompt dismissed), DBusError or OSError."""
    saved = conn.timeout
    try:
        conn.timeout = _left(deadline)
        conn.call(*BUS, "AddMatch", "s", (f"type='signal',sender='{owner}',path='{prompt}',"
                                          f"interface='{PROMPT_IFACE}',member='Completed'",))
        conn.watch(prompt)
        conn.timeout = _left(deadline)
        conn.call(service, prompt, PROMPT_IFACE, "Prompt", "s", ("",))
        dismissed, result = conn.signal(owner, prompt, PROMPT_IFACE, "Completed", _left(deadline))
    except TimeoutError:
        dismiss(conn, service, prompt)
        raise
    finally:
        conn.timeout = saved
    if isinstance(result, tuple) and len(result) == 2:  # the variant: (signature, value)
        result = result[1]
    return bool(dismissed), result


def dismiss(conn: Connection, service: str, prompt: str) -> None:
    """Withdraw ``prompt``, as libsecret does on cancel; best effort, within half a second."""
    if conn.sock.fileno() < 0:  # a call timed out and closed the connection: nothing more can be said
        return
    saved, conn.timeout = conn.timeout, min(conn.timeout, 0.5)
    try:
        conn.call(service, prompt, PROMPT_IFACE, "Dismiss")
    except Exception:  # a hung provider: the caller's message says what to do anyway
        pass
    finally:
        conn.timeout = saved


def follow_for(backend: SecretServiceBackend, prompt: str, action: str, started: float) -> Any:
    """``follow`` for the backend's ``action`` (store, erase, read, unlock), handed out by the provider
    that sent the backend's last reply, within its timeout from ``started``: the prompt's result, or
    one StoreUnavailableError naming the provider and the way to get such a prompt answered."""
    from gatepass.stores.dbus import DBusError

    conn, what = backend.conn, "the default collection" if action == "unlock" else "the item"
    try:
        dismissed, result = follow(conn, backend.bus_name, conn.sender, prompt, started + backend.timeout)
    except TimeoutError:
        advice = backend._advice()
        raise backend.fail(f"{advice.name} asked for a confirmation to {action} {what} and it did not come "
                           f"within {backend.timeout:g}s; {advice.prompt_fix(action)}") from None
    except DBusError as exc:
        raise backend.fail(f"{backend._advice().name} failed the prompt to {action} {what} ({exc.name})") from None
    except OSError as exc:
        raise backend.fail(f"the bus connection failed during a prompt ({exc.strerror or type(exc).__name__})"
                           ) from None
    if dismissed:
        advice = backend._advice()
        raise backend.fail(f"{advice.name} refused to {action} {what} (its prompt was dismissed); "
                           f"{advice.prompt_fix(action)}")
    return result
