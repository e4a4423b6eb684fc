"""The composition root: load the layers and the store, rank candidates, read the first readable secret.

The one place the helpers' parts are wired together. Front ends pass ``env`` (``os.environ``
or a test's dict) and a ``report`` callback for diagnostics; nothing here writes output.
"""

from gatepass.config.layers import Config, load_config
from gatepass.errors import SecretUnavailableError, StoreUnavailableError
from gatepass.model import Secret
from gatepass.resolver import rank
from gatepass.secret_sources import read_secret

TYPE_CHECKING = False  # typing is a costly import on the warm path; mypy reads this the same way
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from gatepass.model import Account, Request
    from gatepass.stores.index import Entry
    from gatepass.stores.layer import Store
    from gatepass.trace import Trace

    Engines = Mapping[str, Mapping[str, object]]  # Config.engines: "vault" -> the [vault] table


def load(env: "Mapping[str, str]", report: "Callable[[str], None]", hosts: list[str] | None = None) -> "Config":
    """All config layers (only ``hosts``' accounts when given); every config error goes to ``report``."""
    config = load_config(env, hosts)
    for error in config.errors:
        report(error)
    if _preset_wanted(env):
        _add_preset(config, env, report, hosts)
    return config


def _preset_wanted(env: "Mapping[str, str]") -> bool:
    """Whether a CI preset may be in effect (gatepass.presets.active), tested without importing it."""
    return bool(env.get("GATEPASS_PRESET")) or env.get("GITHUB_ACTIONS") == "true" or env.get("GITLAB_CI") == "true"


def _add_preset(config: "Config", env: "Mapping[str, str]", report: "Callable[[str], None]", hosts: list[str] | None
                ) -> None:
    """The CI preset's accounts (``GATEPASS_PRESET`` or a detected CI), below every file layer (gatepass.presets)."""
    from gatepass.presets import environment_accounts

    accounts, errors = environment_accounts(env, len(config.accounts) + 1, hosts)
    for error in errors:
        report(error)
    config.accounts.extend(accounts)


def open_store(env: "Mapping[str, str]", config: "Config") -> "Store":
    from gatepass.stores.layer import Store

    return Store(env, config.store)


class DeferredStore:
    """The store layer of one helper call, imported on first real use: a ``get`` the config answers
    with nothing stored loads no store module (two fewer imports on every warm ``get``).
    ``accounts`` answers ``[]`` without it while there is no index; ``env`` needs nothing."""

    __slots__ = ("env", "settings", "_store")

    def __init__(self, env: "Mapping[str, str]", settings: "Mapping[str, object]") -> None:
        self.env, self.settings = env, settings
        self._store: Store | None = None

    @property
    def store(self) -> "Store":
        if self._store is None:
            from gatepass.stores.layer import Store

            self._store = Store(self.env, self.settings)
        return self._store

    def accounts(self, kind: str, hosts: list[str] | None = None) -> "list[Account]":
        from gatepass.paths import index_path
        from gatepass.readback import exists

        if not exists(index_path(self.env)):
            return []  # nothing stored yet
        return list(self.store.accounts(kind, hosts))


def host_keys(host: str) -> list[str]:
    """The config host keys that can match ``host``: itself, the one-label wildcard above it, and for an
    Amazon ECR registry the shared ``*.dkr.ecr.*.amazonaws.com`` (Artifact Registry: ``*-docker.pkg.dev``)."""
    from gatepass.hosts import AR_PATTERN, ECR_PATTERN, is_artifact_registry, is_ecr_registry

    parent = host.partition(".")[2]
    keys = [host, "*." + parent] if parent else [host]
    if is_ecr_registry(host):
        keys.append(ECR_PATTERN)
    elif is_artifact_registry(host):
        keys.append(AR_PATTERN)
    return keys


def candidates(request: "Request", env: "Mapping[str, str]", report: "Callable[[str], None]",
               *, with_store: bool = True, store_errors: "list[StoreUnavailableError] | None" = None
               ) -> "tuple[DeferredStore, list[Account]]":
    """The store and every account that could answer ``request``'s host, stored entries first.

    An unreadable store is reported, or collected in ``store_errors`` when given."""
    store, accounts, _ = _gather(request, env, report, with_store, store_errors)
    return store, accounts


def _gather(request: "Request", env: "Mapping[str, str]", report: "Callable[[str], None]", with_store: bool,
            store_errors: "list[StoreUnavailableError] | None" = None) -> "tuple[DeferredStore, list[Account], Engines]":
    """:func:`candidates` plus the config's engine tables (``Config.engines``) for reading them."""
    keys = host_keys(request.host)
    config = load(env, report, keys)
    store = DeferredStore(env, config.store)
    accounts = list(config.accounts)
    if with_store:
        try:
            accounts = store.accounts(request.kind, keys) + accounts
        except StoreUnavailableError as exc:
            _store_error(exc, report, store_errors)
    return store, accounts, config.engines


def _store_error(exc: "StoreUnavailableError", report: "Callable[[str], None]",
                 store_errors: "list[StoreUnavailableError] | None") -> None:
    if store_errors is None:
        report(str(exc))
    else:
        store_errors.append(exc)


def read(account: "Account", store: "Store | DeferredStore", request: "Request | None" = None,
         engines: "Engines | None" = None) -> "Secret":
    """An account's secret: stored entries and token-less config accounts from the keyring backend.

    ``request`` (what the helper was asked) and ``engines`` (``Config.engines``) reach engine
    accounts; without a request an engine answers for the account's own host.
    """
    if account.secret_kind == "store":
        return _opened(store).read(account)
    if account.secret_kind == "keyring":
        if account.untrusted:
            read_secret(account, {})  # raises: a layer others can write may not name a keyring entry either
        value = _opened(store).backend().get(keyring_service(account), account.username)
        if value is None:
            read_secret(account, {})  # raises the "run gatepass login" error for this account
        return Secret(str(value))
    return read_secret(account, store.env, request, engines)


def _opened(store: "Store | DeferredStore") -> "Store":
    return store.store if isinstance(store, DeferredStore) else store


def forget_engine_value(account: "Account", request: "Request", env: "Mapping[str, str]", value: str) -> bool:
    """A server rejected ``value`` of an engine account: drop it from the engine cache (gatepass.engines.forget)."""
    from gatepass.engines import forget

    config = load(env, lambda message: None, host_keys(request.host))
    return forget(account, request, env, config.engines, value)


def keyring_service(account: "Account") -> str:
    """Where ``gatepass login`` keeps the token of a config account that names none: the service name
    its store entry gets (``Entry.service``), from the normalized host, never the domain as written,
    so ``GitHub.com`` or ``github.com:443`` in a config finds what ``login git github.com`` saved."""
    from gatepass.hosts import join_host_port

    scheme = "https" if account.secure else "http"
    default = account.port == (443 if account.secure else 80)  # a login names no default port
    host = join_host_port(account.host, None if default else account.port)
    return f"gatepass:{account.kind}:{host if account.kind == 'docker' else f'{scheme}://{host}'}"


def answer(request: "Request", env: "Mapping[str, str]", report: "Callable[[str], None]", *, with_store: bool = True,
           trace: "Trace | None" = None) -> "tuple[Account, Secret] | None":
    """The chosen account and its secret, or ``None``: the first eligible account whose secret reads wins.

    An unreadable secret is reported and resolution moves on to the next candidate. When nothing
    answers and a store backend could not be read (locked, hung, damaged), that is the outcome:
    the first such ``StoreUnavailableError`` is raised, so docker shows it instead of "not found"
    and git prints it as its one line (docs/design.md: never silently "not found").
    ``GATEPASS_ACCOUNT`` restricts the answer to that username; when it leaves nothing, one line says so.
    """
    request.account = restriction(env)
    store_errors: list[StoreUnavailableError] = []
    store, accounts, engines = _gather(request, env, report, with_store, store_errors)
    found = _first_readable(request, accounts, store, report, engines, store_errors, trace)
    if found is None and store_errors:
        raise store_errors[0]
    if found is None and request.account is not None:
        from gatepass.hosts import join_host_port

        report(f"GATEPASS_ACCOUNT={request.account}: no account of that username answers "
               f"{join_host_port(request.host, request.port)}; unset it or name another")
    for message in dict.fromkeys(str(exc) for exc in store_errors):
        report(message)
    return found


def _first_readable(request: "Request", accounts: "list[Account]", store: "DeferredStore", report: "Callable[[str], None]",
                    engines: "Engines", store_errors: "list[StoreUnavailableError] | None" = None,
                    trace: "Trace | None" = None) -> "tuple[Account, Secret] | None":
    eligible, ruled_out = rank(request, accounts)
    if trace is not None:
        trace.ranked(request, eligible, ruled_out)
    for candidate in eligible:
        try:
            secret = read(candidate.account, store, request, engines)
        except StoreUnavailableError as exc:
            _store_error(exc, report, store_errors)
            if trace is not None:
                trace.unreadable(candidate.account, str(exc))
        except SecretUnavailableError as exc:
            report(str(exc))
            if trace is not None:
                trace.unreadable(candidate.account, str(exc))
        else:
            if trace is not None:
                trace.chose(candidate.account)
            if request.path is None and request.kind == "git" and any(c.account.organizations for c in eligible):
                from gatepass.scoped_hint import hint

                line = hint(request, candidate.account, [c.account for c in eligible], store.env)
                if line:
                    report(line)
            return candidate.account, secret
    return None


def restriction(env: "Mapping[str, str]") -> str | None:
    """The username ``GATEPASS_ACCOUNT`` restricts every answer to, or None (unset or empty)."""
    return env.get("GATEPASS_ACCOUNT") or None


def remember(request: "Request", username: str, entry: "Callable[[], Entry]", secret: str, env: "Mapping[str, str]",
             report: "Callable[[str], None]", refresh: str | None = None) -> None:
    """Save into the store layer, unless the config layers already answer ``request`` (as ``get`` will
    see it) with this very username and secret: the config stays the single source of it.

    ``entry`` makes the index entry only when there is something to save: after a ``get`` the config
    answered (every git operation), ``store`` imports nothing of the store."""
    store, accounts, engines = _gather(request, env, report, False)
    configured = _first_readable(request, accounts, store, lambda message: None, engines)
    if configured is not None and (configured[0].username, configured[1].value) == (username, secret):
        return
    store.store.save(entry(), secret, refresh)


def store_for(host: str, env: "Mapping[str, str]", report: "Callable[[str], None]") -> "Store":
    """The store, with the ``[store]`` settings of the layers that can answer ``host``."""
    return open_store(env, load(env, report, host_keys(host)))


def docker_list(env: "Mapping[str, str]", report: "Callable[[str], None]") -> tuple[dict[str, str], str | None]:
    """Server string -> username for every registry gatepass knows, never reading a secret; or
    ``({}, answer)`` when no stored entry must be merged in: ``list``'s whole answer as the parse
    cache keeps it rendered (rendering every entry on every call would be most of ``list``'s work).

    Stored entries first (the highest layer; keys with another path, such as identity-token
    refresh keys, exactly as stored), then the config listing the parse cache keeps ready, so
    ``list`` reads no account shard at all (``config.layers.docker_listing`` says the order).
    """
    from gatepass.hosts import docker_display_key

    config = load(env, report, [])
    listed: dict[str, str] = {}
    try:
        for account in open_store(env, config).accounts("docker"):
            listed.setdefault(account.entry.path or docker_display_key(account.host, account.port), account.username)
    except StoreUnavailableError as exc:
        report(str(exc))
    preset: "list[Account]" = []
    if _preset_wanted(env):  # the CI's registry (ghcr.io, $CI_REGISTRY), below every config layer
        from gatepass.presets import environment_accounts

        preset = [a for a in environment_accounts(env)[0] if a.kind == "docker"]
    if not listed and not preset and config.rendered is not None:
        return {}, config.rendered
    for key, username in config.listing.items():
        listed.setdefault(key, username)
    for registry in preset:
        listed.setdefault(docker_display_key(registry.host, registry.port), registry.username)
    return listed, None


def docker_list_for(username: str, env: "Mapping[str, str]", report: "Callable[[str], None]") -> dict[str, str]:
    """:func:`docker_list` under ``GATEPASS_ACCOUNT=username``: the keys that user answers (every
    layer is read: the cached listing names only each registry's first account)."""
    from gatepass.hosts import docker_display_key

    config = load(env, report)
    listed: dict[str, str] = {}
    try:
        stored = open_store(env, config).accounts("docker")
    except StoreUnavailableError as exc:
        report(str(exc))
        stored = []
    for account in [*stored, *config.accounts]:
        if account.kind == "docker" and account.username == username:
            entry = getattr(account, "entry", None)
            listed.setdefault(getattr(entry, "path", "") or docker_display_key(account.host, account.port), username)
    return listed
