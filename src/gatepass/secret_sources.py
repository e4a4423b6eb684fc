"""Reading an account's secret from where its config says: inline, a file, an environment variable.

Errors name the account, the file and line it comes from and what to do; never the value, and
never the value of ``token_env`` or of a ``token_file`` that cannot be opened either: a token
pasted there by mistake would otherwise be echoed to a terminal or a CI log. A ``token_file``
that opens is a path, and is named.
Sealed and engine (``gatepass.engines``, ``token_command`` among them) tokens are opened by their
own modules, imported only when such an account is tried; keyring-held ones come through the store (``app.read``).
"""

from gatepass.errors import GatepassError, SecretUnavailableError
from gatepass.model import Account, Secret
from gatepass.paths import token_file_path
from gatepass.readback import UnreadableFile, read_user_file

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

    from gatepass.model import Request

MAX_TOKEN_FILE_BYTES = 64 * 1024


def _fail(account: "Account", why: str) -> "SecretUnavailableError":
    return SecretUnavailableError(f"{account.where}: account {account.label()}: {why}")


def _read_token_file(account: "Account", path: str) -> str:
    path = token_file_path(account.file, path)
    try:
        data = read_user_file(path, MAX_TOKEN_FILE_BYTES)
    except UnreadableFile as exc:
        if exc.rule == "open":  # the path is not named: a token pasted there by mistake must not be echoed
            raise _fail(account, f"its token_file cannot be opened ({exc.strerror}); check the path written there") from None
        if exc.rule == "type":
            raise _fail(account, f"token_file {path} is not a regular file") from None
        raise _fail(account, f"token_file {path} cannot be read ({exc.strerror})") from None
    # A mounted secret's first line is the token (a trailing \r from an editor is dropped too).
    first = data.split(b"\n", 1)[0].rstrip(b"\r")
    try:
        token = first.decode("utf-8")
    except UnicodeDecodeError:
        raise _fail(account, f"token_file {path} is not UTF-8 text") from None
    if not token:
        raise _fail(account, f"token_file {path} is empty")
    return token


def read_secret(account: "Account", env: "Mapping[str, str]", request: "Request | None" = None,
                engines: "Mapping[str, Mapping[str, object]] | None" = None) -> "Secret":
    """The account's secret now, or ``SecretUnavailableError`` saying why not.

    ``request`` is what a helper was asked (an engine may pick by it: github_app's installation
    follows the organization); ``engines`` are the config's engine tables (``Config.engines``).
    """
    if account.untrusted:  # docs/design.md "Trust boundaries": a layer others can write gives no secret
        raise _fail(account, f"its config layer contributes no secret: {account.untrusted}")
    kind, ref = account.secret_kind, account.secret_ref
    if kind == "inline":
        return Secret(str(ref))
    if kind == "file":
        return Secret(_read_token_file(account, str(ref)))
    if kind == "env":
        value = env.get(str(ref))
        if not value:
            from gatepass.presets import hint  # a CI's own variable: named, with how a job gets it

            known = hint(str(ref))
            raise _fail(account, f"{ref} is not set; {known}" if known else
                        "the environment variable its token_env names is not set; export it or use token_file")
        return Secret(value)
    if kind == "sealed":
        from gatepass.sealing import open_for

        try:
            return Secret(open_for(account, str(ref), env))
        except GatepassError as exc:
            raise _fail(account, str(exc)) from None
    from gatepass.engines import ENGINE_KINDS, read_engine

    if kind in ENGINE_KINDS:
        try:
            return read_engine(account, request, env, engines)
        except SecretUnavailableError as exc:
            raise _fail(account, str(exc)) from None
    raise _fail(account, "no token in the config and none stored; run: gatepass login "
                         f"{account.kind} {account.domain} --username {account.username}")
