"""The store layer as the helpers see it: stored entries as accounts, and save/erase with git's rules.

The index (``stores/index.py``) says what is stored and which backend holds it; the secret
itself lives only in that backend. Stored entries are the highest layer. An expired entry is
never returned. Empty usernames and passwords round-trip, as git's own tests require.
"""

from gatepass.errors import SecretUnavailableError, StoreUnavailableError
from gatepass.hosts import split_host_port
from gatepass.model import LAYER_RANK, Account, Secret
from gatepass.paths import index_path
from gatepass.readback import exists

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from gatepass.stores import Backend
    from gatepass.stores.index import Entry, Index

REFRESH_SUFFIX = "#oauth_refresh_token"


class StoredAccount(Account):
    """An account from the store: a config Account plus its index entry and, for git, its path."""

    __slots__ = ("entry", "path")

    def __init__(self, entry: "Entry", order: int) -> None:
        parts = split_host_port(entry.host) or (entry.host, None)
        secure = entry.kind == "git" and entry.protocol == "https"
        super().__init__(kind=entry.kind, domain=entry.host, host=parts[0], port=parts[1], secure=secure,
                         username=entry.username, secret_kind="store", secret_ref=None, layer="store",
                         rank=LAYER_RANK["store"], file=f"store ({entry.backend})", line=0, order=order)
        self.entry = entry
        self.path = entry.path or None


class Store:
    """Stored credentials for one environment; backends open on first use."""

    def __init__(self, env: "Mapping[str, str]", settings: "Mapping[str, object]") -> None:
        self.env, self.settings = env, settings
        self._index: Index | None = None
        self._backends: dict[str, Backend] = {}

    @property
    def index(self) -> "Index":
        # Imported on first use: a get answered from config with nothing stored never loads the store.
        if self._index is None:
            from gatepass.stores.index import Index

            self._index = Index(self.env)
        return self._index

    def backend(self, name: str | None = None) -> "Backend":
        from gatepass.stores.choose import backend_spec, open_backend

        spec = name or backend_spec(self.env, self.settings)
        if spec not in self._backends:
            backend = open_backend(spec, self.env, self.settings)
            self._backends[spec] = self._backends[backend.name] = backend
        return self._backends[spec]

    def accounts(self, kind: str, hosts: list[str] | None = None) -> "list[StoredAccount]":
        """Unexpired entries of ``kind`` (for ``hosts`` only, when given) as accounts; reads no secret."""
        if not exists(index_path(self.env)):
            return []  # nothing stored yet: skip even importing the index
        from gatepass.stores.index import now

        moment = now()
        found: list[StoredAccount] = []
        for order, entry in enumerate(self.index.entries(hosts)):
            if entry.kind != kind or (entry.expiry is not None and entry.expiry < moment):
                continue
            account = StoredAccount(entry, order)
            if hosts is None or account.host in hosts:
                found.append(account)
        return found

    def read(self, account: "Account") -> "Secret":
        if not isinstance(account, StoredAccount):  # a real check, not an assert: -O keeps it
            raise SecretUnavailableError(f"{account.label()} is not a stored entry")
        entry = account.entry
        value = self.backend(entry.backend).get(entry.service(), entry.username)
        if value is None:
            raise SecretUnavailableError(f"stored entry {entry.service()} for {entry.username!r} is in the index "
                                         f"but not in {entry.backend}; log in again")
        secret = Secret(value, entry.expiry)
        if entry.refresh:
            secret.refresh = self.backend(entry.backend).get(entry.service() + REFRESH_SUFFIX, entry.username)
        return secret

    def save(self, entry: "Entry", secret: str, refresh: str | None = None) -> None:
        """Put the secret in the configured backend, then record it (``Index.upsert``: the same key is
        replaced, and the replaced entry's secret is deleted when the new one did not overwrite it)."""
        backend = self.backend()
        backend.set(entry.service(), entry.username, secret)
        if refresh is not None:
            backend.set(entry.service() + REFRESH_SUFFIX, entry.username, refresh)
        entry.backend, entry.refresh = backend.name, refresh is not None
        entry.created = entry.updated = 0  # now, or the replaced entry's creation time

        def forget_replaced(old: "Entry") -> None:
            if (old.backend, old.username) != (entry.backend, entry.username):
                self._forget_secret(old)  # the new secret did not overwrite the old item
            elif old.refresh and not entry.refresh:
                self.backend(old.backend).delete(old.service() + REFRESH_SUFFIX, old.username)

        self.index.upsert(entry, forget_replaced)

    def erase(self, matches: "Callable[[Entry], bool]", password: str | None = None) -> "list[Entry]":
        """Remove every matching entry (only those holding ``password`` when given) and their secrets.

        Secrets go first, under the index lock (``Index.remove``): if a backend is locked, the error
        leaves the index as it was, so no secret is left in a keyring with no entry pointing at it."""
        def chosen(entry: "Entry") -> bool:
            return matches(entry) and (password is None or self._holds(entry, password))

        def forget(entries: "list[Entry]") -> None:
            for entry in entries:
                self._forget_secret(entry)

        return self.index.remove(chosen, forget)

    def _holds(self, entry: "Entry", password: str) -> bool:
        try:
            return self.backend(entry.backend).get(entry.service(), entry.username) == password
        except StoreUnavailableError:
            return False

    def _forget_secret(self, entry: "Entry") -> None:
        backend = self.backend(entry.backend)
        backend.delete(entry.service(), entry.username)
        if entry.refresh:
            backend.delete(entry.service() + REFRESH_SUFFIX, entry.username)
