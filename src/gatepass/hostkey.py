"""The host identity that opens sealed tokens: where it lives, creating it once, loading it.

Sealed values are opened with every usable identity among (docs/design.md §6):

* ``GATEPASS_HOST_KEY`` when set (and then only it);
* else ``/etc/gatepass/host.key``, the host's (root:gatepass 0640: the users who run git on the
  host are in group ``gatepass``), and ``$XDG_CONFIG_HOME/gatepass/host.key``, the user's own.

A key file is an age identity file exactly as ``age-keygen`` writes it (``#`` comments, one or
more ``AGE-SECRET-KEY-1...`` lines) or an unencrypted OpenSSH private key (so
``/etc/ssh/ssh_host_ed25519_key`` can be the identity and its ``.pub`` the recipient). Like ssh
with a private key, a key file is refused when others may read it: it must belong to the user or
root, with no permission for others, no group write and no ACL entry naming another user or group
(group read is the sharing rule), in directories no one else can write.

The public key sits beside the private one as ``host.key.pub`` (0644), so anyone can seal to the
host. What ``host-key`` prints is derived from the identity whenever this user can read it (age or
OpenSSH), and a ``.pub`` naming another key is an error; the ``.pub`` alone speaks only for a key
this user may not use. ``pyrage`` is imported only inside the functions that need it.
"""

from __future__ import annotations

import os

from gatepass.errors import GatepassError, SecretUnavailableError
from gatepass.paths import config_dir

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

SYSTEM_KEY = "/etc/gatepass/host.key"
SYSTEM_GROUP = "gatepass"
MAX_KEY_BYTES = 64 * 1024
_SSH_BEGIN = b"-----BEGIN "


class HostKeyError(SecretUnavailableError):
    """A host key that exists but cannot be used: unreadable, open to others, encrypted or damaged."""


class HostKeyPlaceError(HostKeyError):
    """A host key in a directory another user can change: neither it nor the ``.pub`` beside it is to be believed."""


def user_key_path(env: Mapping[str, str]) -> str:
    """This user's own identity, for sealed values in their user layer."""
    return os.path.join(config_dir(env), "host.key")


def key_paths(env: Mapping[str, str]) -> list[str]:
    """Every identity file a sealed value is tried with, in order."""
    if env.get("GATEPASS_HOST_KEY"):
        return [env["GATEPASS_HOST_KEY"]]
    return [SYSTEM_KEY, user_key_path(env)]


def init_path(env: Mapping[str, str]) -> str:
    """Where ``host-key --init`` writes: GATEPASS_HOST_KEY, the host's key for root, else the user's."""
    if env.get("GATEPASS_HOST_KEY") or os.geteuid() == 0:
        return key_paths(env)[0]
    return user_key_path(env)


def read_key_file(path: str) -> bytes:
    """The bytes of a key file; FileNotFoundError when absent, HostKeyError when unusable."""
    from gatepass.readback import UnreadableFile, directory_problem, read_user_file

    try:
        data = read_user_file(path, MAX_KEY_BYTES, private=True)
    except UnreadableFile as exc:
        if exc.rule == "open" and exc.error is not None and not isinstance(exc.error, PermissionError):
            raise exc.error from None  # FileNotFoundError: the caller tries the next place
        why = {"open": f"is not readable by this user ({_readers(path)}, or use your own key: gatepass host-key "
                       "--init)",
               "type": "is not a regular file", "owner": f"belongs to another user; run: chown root {path}",
               "mode": f"is open to other users; run: chmod 600 {path} (or 640 to share it with its group)",
               "size": "is too large to be a key", "read": f"cannot be read ({exc.strerror})"}[exc.rule]
        if exc.acl:
            why = f"is open to other users through an ACL; run: setfacl -b {path}"
        raise HostKeyError(f"host key {path} {why}") from None
    where = directory_problem(os.path.dirname(os.path.abspath(path)))
    if where:  # another user could have swapped it for a key they hold, or read it on its way in
        raise HostKeyPlaceError(f"host key {path} is not used: {where}; make its directories root's or yours, "
                           "not writable by others")
    return data


def _readers(path: str) -> str:
    """Who may read a key this user cannot: the group the file is shared with (``--group``, the Ansible
    role's ``gatepass_group``), as the file itself says; the usual group when it cannot be looked at."""
    import grp

    try:
        st = os.stat(path)
    except OSError:
        return f"the host's key is for group {SYSTEM_GROUP}: ask for membership"
    if not st.st_mode & 0o040:
        return "only its owner may read it"
    try:
        name = grp.getgrgid(st.st_gid).gr_name
    except KeyError:
        name = str(st.st_gid)
    return f"the host's key is for group {name}: ask for membership"


def parse_identities(path: str, data: bytes) -> list[object]:
    """The pyrage identities in a key file's bytes; HostKeyError saying what is wrong (never the key)."""
    import pyrage

    if data.lstrip().startswith(_SSH_BEGIN):
        try:
            return [pyrage.ssh.Identity.from_buffer(data)]
        except pyrage.IdentityError as exc:
            if "decrypted" in str(exc):
                raise HostKeyError(f"host key {path} is protected by a passphrase; gatepass needs an unencrypted key") from None
            raise HostKeyError(f"host key {path} is not a usable OpenSSH private key") from None
    identities: list[object] = []
    for line in data.decode("ascii", "replace").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            identities.append(pyrage.x25519.Identity.from_str(line))
        except pyrage.IdentityError:
            identities = []
            break
    if not identities:
        raise HostKeyError(f"host key {path} is neither an age identity file (age-keygen) nor an OpenSSH private key")
    return identities


def public_key(path: str, identities: list[object] | None = None, data: bytes | None = None) -> str | None:
    """The public key of the identity at ``path``: derived from the identity when it was read (an age
    identity, or an OpenSSH key from ``data``), and then a ``.pub`` beside it that names another key is
    an error; else the ``.pub`` (a key this user may not read); None when neither is there."""
    derived = _derived(identities or [], data)
    listed = _listed(path)
    if derived and listed and listed not in derived.split(", "):
        raise HostKeyError(f"{path}.pub ({listed[:24]}...) is not the public key of {path}; "
                           f"remove {path}.pub, or put the key's own public key there")
    return derived or listed


def _derived(identities: list[object], data: bytes | None) -> str | None:
    publics = [str(i.to_public()) for i in identities if hasattr(i, "to_public")]
    if publics:
        return ", ".join(publics)
    if data is None or not data.lstrip().startswith(_SSH_BEGIN):
        return None
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization

    try:
        key = serialization.load_ssh_private_key(data, None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return None
    return key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def _listed(path: str) -> str | None:
    """The key a ``.pub`` beside ``path`` names (its first line, an ssh key without its comment)."""
    try:
        with open(path + ".pub", "rb") as pub:
            lines = pub.read(4096).decode("ascii", "replace").strip().splitlines()
    except OSError:
        return None
    if lines and lines[0].startswith("age1"):
        return lines[0].strip()
    if lines and lines[0].startswith("ssh-"):
        return " ".join(lines[0].split()[:2])  # the comment is left out: it may name a person
    return None


def load_identities(env: Mapping[str, str]) -> tuple[list[object], str]:
    """Every usable identity and how to name this host in errors; HostKeyError when there is none."""
    identities: list[object] = []
    names: list[str] = []
    problems: list[str] = []
    for path in key_paths(env):
        try:
            found = parse_identities(path, read_key_file(path))
        except FileNotFoundError:
            continue
        except HostKeyError as exc:
            problems.append(str(exc))
            continue
        except OSError as exc:
            problems.append(f"host key {path} cannot be read ({exc.strerror})")
            continue
        identities += found
        names.append(f"{_derived(found, None) or _listed(path) or 'the key'} ({path})")
    if not identities:
        if problems:
            raise HostKeyError("; ".join(problems))
        raise HostKeyError(f"no host key (looked for {', '.join(key_paths(env))}); run: gatepass host-key --init")
    return identities, " and ".join(names) + "".join(f"; {problem}" for problem in problems)


def _group_id(group: str | None, path: str) -> int | None:
    """The gid to share a new key with: ``group``, or group gatepass for the host's key when it exists."""
    import grp

    if group is None:
        if path != SYSTEM_KEY:
            return None
        try:
            return grp.getgrnam(SYSTEM_GROUP).gr_gid
        except KeyError:
            return None
    try:
        return grp.getgrnam(group).gr_gid if not group.isdigit() else int(group)
    except KeyError:
        raise GatepassError(f"no group {group} on this host; create it (groupadd {group}) or leave out --group") from None


def create_key(path: str, group: str | None = None) -> str:
    """Create an age identity at ``path`` (never replacing one) and its ``.pub``; the public key.

    The key is written as age-keygen writes it, by ``create_new`` (temp, fsync, link: never a half
    key, never over an existing one), 0600; shared with a group it becomes 0640 through the file
    descriptor (no path race). The public key beside it is 0644 and replaced when stale.
    """
    import time

    import pyrage

    from gatepass.files import create_new, write_atomic

    gid = _group_id(group, path)
    if os.path.lexists(path):
        raise GatepassError(f"{path} exists already; gatepass never replaces a host key")
    directory = os.path.dirname(os.path.abspath(path))
    try:
        if not os.path.isdir(directory):
            os.makedirs(directory, mode=0o700)
            if gid is not None:  # the group must reach the key; the umask may have taken more than 0o022
                os.chmod(directory, 0o755)
    except OSError as exc:
        raise GatepassError(f"cannot create {directory} ({exc.strerror})") from None
    identity = pyrage.x25519.Identity.generate()
    public = str(identity.to_public())
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    try:
        create_new(path, f"# created: {created}\n# public key: {public}\n{identity}\n".encode())
        if gid is not None:
            _share(path, gid)
        write_atomic(path + ".pub", f"{public}\n".encode(), mode=0o644)
    except FileExistsError:
        raise GatepassError(f"{path} exists already; gatepass never replaces a host key") from None
    except OSError as exc:
        raise GatepassError(f"cannot write {path} ({exc.strerror})") from None
    return public


def _share(path: str, gid: int) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        os.fchown(fd, -1, gid)
        os.fchmod(fd, 0o640)
    finally:
        os.close(fd)


def show(env: Mapping[str, str], paths: list[str] | None = None) -> tuple[str, str]:
    """(public key, path) of the first identity among ``paths`` (``key_paths``) that exists or has a ``.pub``."""
    for path in paths or key_paths(env):
        if not os.path.lexists(path) and not os.path.exists(path + ".pub"):
            continue
        identities, data = None, None
        try:
            data = read_key_file(path)
            identities = parse_identities(path, data)
        except (OSError, HostKeyError) as exc:
            if isinstance(exc, HostKeyPlaceError) or not os.path.exists(path + ".pub"):
                raise
            data = None
        public = public_key(path, identities, data)
        if public is None:
            raise GatepassError(f"no public key for {path}; put it in {path}.pub")
        return public, path
    raise GatepassError(f"no host key at {' or '.join(key_paths(env))}; create one with: gatepass host-key --init")
