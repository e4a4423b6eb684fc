"""Which program answers ``org.freedesktop.secrets``, and that program's words for the user's fixes.

The Secret Service API is the same everywhere; what a user must do when it says no is not: a
locked default collection is unlocked by logging in (gnome-keyring), by opening the wallet
(KWallet) or by unlocking the database (KeePassXC); a prompt that nobody answers is, for
KeePassXC, a setting ("Confirm when passwords are retrieved by clients"). Messages name the
provider found on the bus and give its own fix, never another desktop's tool.

The provider is the process owning the name (``GetConnectionUnixProcessID``), known by its
``/proc/PID/comm``; only error messages ask, so the working path pays nothing for it.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from gatepass.stores.dbus import Connection
    from gatepass.stores.secret_service import SecretServiceBackend


class Advice:
    """A provider's name and its fixes; each text reads after "the default collection is locked; "."""

    def __init__(self, name: str, unlock: str, create: str, approve: dict[str, str],
                 wallet: tuple[str, str, str] | None = None) -> None:
        self.name, self.unlock, self.create, self.approve = name, unlock, create, approve
        self.wallet = wallet  # KWallet's own D-Bus API (name, path, interface), which knows an open wallet

    def prompt_fix(self, action: str) -> str:
        """How to get a prompt for ``action`` (store, erase, read, unlock) answered, or avoided headless."""
        if action == "unlock":
            return self.unlock
        return self.approve.get(action) or self.approve.get("*", "answer the provider's window")


GNOME = Advice(
    "gnome-keyring",
    "unlock it (log in to the desktop, or gnome-keyring-daemon --unlock)",
    "create one with your desktop's keyring tool (seahorse)",
    {"*": "answer gnome-keyring's window in the desktop session (there is none over ssh: unlock the keyring first)"})
KWALLET = Advice(
    "KWallet",
    "open the wallet (kwalletmanager5, or log in through pam_kwallet5, which opens it)",
    "create the default wallet (kdewallet) in kwalletmanager5 with the Secret Service interface enabled; "
    "a wallet made after kwalletd started is seen once kwalletd restarts",
    {"*": "answer KWallet's window (the wallet must be open)"}, ("org.kde.kwalletd5", "/modules/kwalletd5",
                                                                  "org.kde.KWallet"))
KWALLET6 = Advice(KWALLET.name, KWALLET.unlock.replace("kwalletmanager5", "kwalletmanager"),
                  KWALLET.create.replace("kwalletmanager5", "kwalletmanager"), KWALLET.approve,
                  ("org.kde.kwalletd6", "/modules/kwalletd6", "org.kde.KWallet"))
KEEPASSXC = Advice(
    "KeePassXC",
    "unlock the database in KeePassXC",
    "open a database in KeePassXC and expose a group to it (Database Settings > Secret Service Integration)",
    {"read": "approve gatepass in KeePassXC's access dialog, or turn off \"Confirm when passwords are retrieved "
             "by clients\" (Settings > Secret Service Integration) for headless use",
     "store": "approve gatepass in KeePassXC's access dialog (an item another program made needs it), or turn off "
              "\"Confirm when passwords are retrieved by clients\" (Settings > Secret Service Integration)",
     "erase": "confirm in KeePassXC's window, or turn off \"Confirm when clients request entry deletion\" "
              "(Settings > Secret Service Integration) for headless use"})
BY_COMM = {"gnome-keyring-d": GNOME, "gnome-keyring": GNOME, "kwalletd5": KWALLET, "kwalletd6": KWALLET6,
           "ksecretd": KWALLET6, "keepassxc": KEEPASSXC}


def by_comm(comm: str) -> Advice:
    """The advice for a process named ``comm`` (as /proc/PID/comm has it, at most 15 bytes)."""
    if comm in BY_COMM:
        return BY_COMM[comm]
    name = f"the Secret Service provider ({comm})" if comm else "the Secret Service provider"
    return Advice(name, "unlock it with that program", "create one with that program",
                  {"*": "answer that program's window"})


def advice_for(conn: Connection, name: str) -> Advice:
    """The advice for the process owning bus name ``name``, asked of the bus; generic when the bus
    cannot say (a remote or sandboxed owner, a connection already closed)."""
    try:
        pid = conn.call("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                        "GetConnectionUnixProcessID", "s", (name,))[0]
        return by_comm(comm_of(int(pid)))
    except Exception:
        return by_comm("")


def unlock_open_wallet(backend: SecretServiceBackend, path: str) -> None:
    """The default collection at ``path`` says it is locked: an error naming the provider's way to
    unlock it, but for one case. KWallet shows a wallet opened behind its Secret Service's back (by
    pam_kwallet5 at login) as locked until a client asks to unlock it, and then completes the prompt
    without a window; only when KWallet's own API says the wallet is open is it unlocked here."""
    import time

    started, owner = time.monotonic(), backend.conn.sender  # the Secret Service's unique name
    advice = backend._advice()
    if advice.wallet is not None:
        label = backend._property(path, "Label")
        try:
            is_open = backend.conn.call(*advice.wallet, "isOpen", "s", (str(label),))[0] is True
        except Exception:  # another KWallet, or none by that name: no unlocking
            is_open = False
        if is_open and backend.conn.sender == owner:  # the same process answers both names
            backend._unlock([path], "unlock", started)
            return
    raise backend.fail(f"the default keyring is locked ({advice.name}); {advice.unlock}")


def comm_of(pid: int) -> str:
    """``/proc/PID/comm`` without its newline, or "" when it cannot be read (another namespace, gone)."""
    try:
        with open(f"/proc/{pid}/comm", "rb") as handle:
            return handle.read(64).decode("utf-8", "replace").strip()
    except OSError:
        return ""
