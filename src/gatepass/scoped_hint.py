"""One stderr line when git sent no repository path and an organization-scoped account of the host was passed over.

git sends the path only with ``credential.useHttpPath``; ``gatepass setup git`` writes
``credential.https://HOST/ORG.username`` for each organization instead, so git sends that
username. Where neither is in place the unscoped account answers every repository of the host,
and nothing says why the scoped one never does. Consulted only on that path (no path, no
username, an unscoped account answered, a scoped account of the host was eligible); the global
and system git config files are read as text for the organization's URL (running ``git config``
would cost a process).
"""

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

    from gatepass.model import Account, Request


def _git_config_text(env: "Mapping[str, str]") -> str:
    home = env.get("HOME", "")
    paths = [env["GIT_CONFIG_GLOBAL"]] if env.get("GIT_CONFIG_GLOBAL") else [
        f"{home}/.gitconfig", f"{env.get('XDG_CONFIG_HOME') or home + '/.config'}/git/config"]
    if not env.get("GIT_CONFIG_NOSYSTEM"):
        paths.append(env.get("GIT_CONFIG_SYSTEM") or "/etc/gitconfig")
    text: list[str] = []
    for path in paths:
        try:
            with open(path, "rb") as handle:
                text.append(handle.read(1 << 20).decode("utf-8", "replace"))
        except OSError:
            continue
    return "\n".join(text).lower()


def hint(request: "Request", chosen: "Account", passed_over: "list[Account]", env: "Mapping[str, str]") -> str | None:
    """The line to show, or None: git asked with neither path nor username, ``chosen`` (unscoped)
    answered, and an organization of a ``passed_over`` scoped account has no username set up in git."""
    if request.kind != "git" or request.path is not None or request.username is not None or chosen.organizations:
        return None
    scoped = [a for a in passed_over if a.organizations]
    if not scoped:
        return None
    from gatepass.hosts import join_host_port

    host = join_host_port(request.host, request.port)
    text = _git_config_text(env)
    missing = [(a, org) for a in scoped for org in a.organizations if f"https://{host}/{org}".lower() not in text]
    if not missing:
        return None
    names = ", ".join(dict.fromkeys(f"{a.username} (organization {org})" for a, org in missing))
    return (f"git sent no repository path for {host}, so {chosen.username} answered and {names} cannot; "
            "run: gatepass setup git (or: git config --global credential.useHttpPath true)")
