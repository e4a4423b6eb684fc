"""Secret Service prompts against a scripted provider (jeepney builds its messages, not gatepass's code):
gatepass follows a prompt as libsecret does (a match rule for exactly that prompt and sender, then
``Prompt("")``), takes ``Completed`` only from the provider that handed the prompt out, treats
``dismissed`` as a refusal, and withdraws a prompt nobody completes in time (``Dismiss``) with one
line naming what to do, never a hang. The real providers are in test_secret_providers.py."""

from __future__ import annotations

import functools
import time

import pytest
from jeepney import DBusAddress, new_method_return, new_signal
from jeepney.low_level import HeaderFields, MessageType, Parser

from gatepass.errors import StoreUnavailableError
from gatepass.stores.secret_service import SecretServiceBackend
from tests.support.fake_bus import _reply, accept_sasl, fake_bus

PROVIDER = ":1.7"  # the provider's unique name, as the bus would stamp it on everything it sends
PROMPT = "/org/freedesktop/secrets/prompt/p1"
ITEM = "/org/freedesktop/secrets/collection/login/9"


def _provider(conn, record, victim_uid, *, completion: str):  # type: ignore[no-untyped-def]
    """A Secret Service that answers CreateItem and Delete with a prompt; on Prompt it completes it
    (``completion``: "done", "dismissed", "forged" from another sender, or "never")."""
    first = accept_sasl(conn)
    if first is None:
        return
    parser, serial = Parser(), 100
    parser.add_data(first)

    def send(message, sender: str = PROVIDER) -> None:  # type: ignore[no-untyped-def]
        nonlocal serial
        serial += 1
        message.header.fields[HeaderFields.sender] = sender
        conn.sendall(message.serialise(serial))

    while True:
        message = parser.get_next_message()
        while message is not None:
            if message.header.message_type == MessageType.method_call:
                member = message.header.fields.get(HeaderFields.member)
                args = message.body if member in ("AddMatch", "Prompt", "Dismiss") else ()
                record(f"{member} {message.header.fields.get(HeaderFields.path)} {args!r}\n".encode())
                emitter = DBusAddress(PROMPT, interface="org.freedesktop.Secret.Prompt")
                if member == "CreateItem":
                    send(new_method_return(message, "oo", ("/", PROMPT)))
                elif member == "Delete":
                    send(new_method_return(message, "o", (PROMPT,)))
                elif member in ("AddMatch", "Dismiss"):
                    send(new_method_return(message))
                elif member == "Prompt":
                    send(new_method_return(message))
                    if completion in ("done", "dismissed"):
                        send(new_signal(emitter, "Completed", "bv", (completion == "dismissed", ("o", ITEM))))
                    elif completion == "forged":  # another client of the same bus emitting the same signal
                        send(new_signal(emitter, "Completed", "bv", (False, ("o", ITEM))), sender=":1.99")
                else:
                    send(_reply(message, victim_uid))
            message = parser.get_next_message()
        chunk = conn.recv(65536)
        if not chunk:
            return
        parser.add_data(chunk)


def _backend(bus, timeout: float = 1) -> SecretServiceBackend:  # type: ignore[no-untyped-def]
    return SecretServiceBackend({"DBUS_SESSION_BUS_ADDRESS": bus.address}, timeout=timeout)


def test_a_prompt_is_followed_as_libsecret_does():
    with fake_bus(functools.partial(_provider, completion="done")) as bus:
        _backend(bus).set("s", "u", "v")
        assert _backend(bus).delete("s", "u") is True
        said = bus.received().decode("utf-8", "replace")
    assert (f"AddMatch /org/freedesktop/DBus (\"type='signal',sender='{PROVIDER}',path='{PROMPT}',"
            "interface='org.freedesktop.Secret.Prompt',member='Completed'\",)") in said
    assert f"Prompt {PROMPT} ('',)" in said and "Dismiss" not in said


def test_a_dismissed_prompt_is_a_refusal():
    with fake_bus(functools.partial(_provider, completion="dismissed")) as bus:
        with pytest.raises(StoreUnavailableError, match=r"refused to store the item \(its prompt was dismissed\)"):
            _backend(bus).set("s", "u", "v")
        with pytest.raises(StoreUnavailableError, match=r"refused to erase the item"):
            _backend(bus).delete("s", "u")


@pytest.mark.parametrize("completion", ["never", "forged"])
def test_a_prompt_nobody_completes_ends_in_the_timeout_and_is_withdrawn(completion):
    """"forged": a Completed signal from another sender than the one that handed out the prompt is not it."""
    with fake_bus(functools.partial(_provider, completion=completion)) as bus:
        started = time.monotonic()
        with pytest.raises(StoreUnavailableError) as caught:
            _backend(bus, timeout=0.5).set("s", "u", "secret-value")
        assert time.monotonic() - started < 1.5
        said = bus.received().decode("utf-8", "replace")
    message = str(caught.value)
    assert "asked for a confirmation to store the item and it did not come within 0.5s" in message
    assert message.count("\n") == 0 and "secret-value" not in message and "encrypted-file" in message
    assert f"Dismiss {PROMPT} ()" in said
