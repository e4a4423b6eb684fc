"""AES-256-GCM from ``cryptography`` without importing its public ``ciphers`` package (and typing, enum...).

``cryptography.hazmat.primitives.ciphers.aead.AESGCM`` is, in every cryptography since 42, the
very object ``cryptography.hazmat.bindings._rust.openssl.aead.AESGCM`` (the public module
re-exports it), but importing it drags in the whole ``ciphers`` package (``typing``, ``enum``,
``cryptography.utils``). The helpers take the same class from the binding and fall back
to the public import if a future cryptography moves it; a test checks both are one class.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def aesgcm() -> type[AESGCM]:
    try:
        from cryptography.hazmat.bindings._rust import openssl as rust_openssl

        return rust_openssl.aead.AESGCM
    except (ImportError, AttributeError):  # pragma: no cover - a cryptography that moved it
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        return AESGCM


def is_invalid_tag(exc: BaseException) -> bool:
    """Whether ``exc`` is cryptography's InvalidTag (imported only on this failure path)."""
    from cryptography.exceptions import InvalidTag

    return isinstance(exc, InvalidTag)
