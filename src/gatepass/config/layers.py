"""Finding the config layers, loading them with provenance, and reusing a fresh parse from the cache.

The layers, their files and their order: docs/design.md §1 (``model.LAYERS``, ``FILE_LAYERS``).

A missing file is not an error. A file that cannot be read or parsed is reported and skipped:
the other layers still answer, so a typo in one host.d file cannot lock a fleet out.
"""

import posix
import time

from gatepass.config import cache
from gatepass.errors import ConfigError
from gatepass.model import LAYER_RANK, LAYERS, RANK_STEP, Account
from gatepass.ownership import S_IFMT, S_IFREG
from gatepass.paths import config_dir, join

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

    from gatepass.config.schema import Parsed

MAX_CONFIG_BYTES = 64 * 1024 * 1024
# The file layers: the variable naming each one's file, and its default (None: the user's XDG config file).
FILE_LAYERS = {"global": ("GATEPASS_GLOBAL_CONFIG", "/etc/gatepass/global.toml"),
               "host": ("GATEPASS_HOST_CONFIG", "/etc/gatepass/host.toml"),
               "user": ("GATEPASS_USER_CONFIG", None)}


class Config:
    """All accounts of all file layers, in precedence order, plus what went wrong loading them."""

    def __init__(self, accounts: "list[Account]", errors: list[str], store: dict[str, object],
                 files: list[tuple[str, str, bool]], listing: "dict[str, str] | cache.Listing | None" = None,
                 engines: dict[str, dict[str, object]] | None = None) -> None:
        self.accounts = accounts
        self.errors = errors          # one line each: file, line, key and what to do; never a value
        self.store = store            # merged [store] settings, higher layers win
        self.files = files            # (layer, path, exists) for every place looked at
        # docker list's answer ready from the cache (``load_config(env, [])``), else None
        self.rendered = listing.rendered if isinstance(listing, cache.Listing) else None
        self._listing = listing if listing is not None else docker_listing(accounts)
        # Engine tables ("vault" -> [vault]): the highest layer's table wins whole, never merged.
        self.engines = engines if engines is not None else {}

    @property
    def listing(self) -> dict[str, str]:
        """Server string -> username of the config's docker registries (``docker_listing``)."""
        if isinstance(self._listing, cache.Listing):
            self._listing = self._listing.entries()
        return self._listing


def docker_listing(accounts: "list[Account]") -> dict[str, str]:
    """Server string -> username of every concrete docker registry, as ``list`` shows it; no secret.

    Docker Hub is listed as ``https://index.docker.io/v1/``. Where several accounts share a
    registry, the one resolution tries first (unscoped before scoped, higher layer, file order)
    is shown. Wildcard domains name no registry a client could ask for, so they are not listed.
    """
    from gatepass.hosts import docker_display_key

    ranked = sorted((a for a in accounts if a.kind == "docker" and "*" not in a.host),
                    key=lambda a: (bool(a.organizations), -a.rank, a.order))
    listed: dict[str, str] = {}
    for account in ranked:
        listed.setdefault(docker_display_key(account.host, account.port), account.username)
    return listed


def layer_files(env: "Mapping[str, str]") -> list[tuple[str, int, str]]:
    """(layer, rank, path) of every file gatepass reads, lowest precedence first."""
    override = env.get("GATEPASS_CONFIG")
    if override is not None:
        paths = [p for p in override.split(":") if p and p != "/dev/null"]  # /dev/null: no files
        base = LAYER_RANK["config"]
        return [("config", base + min(index, RANK_STEP - 1), path) for index, path in enumerate(paths)]
    files: list[tuple[str, int, str]] = []
    for layer in LAYERS:  # their order, lowest precedence first
        if layer not in FILE_LAYERS:
            continue
        variable, default = FILE_LAYERS[layer]
        path = env.get(variable) or default or join(config_dir(env), "config.toml")
        files.append((layer, LAYER_RANK[layer], path))
        if layer == "host":  # then its drop-ins, in name order
            dropins = (path[:-5] if path.endswith(".toml") else path) + ".d"
            try:
                names = sorted(n for n in posix.listdir(dropins) if n.endswith(".toml") and not n.startswith("."))
            except OSError:
                names = []
            files += [(layer, LAYER_RANK[layer], join(dropins, name)) for name in names]
    # A layer variable set to /dev/null means "no file", as GIT_CONFIG_GLOBAL=/dev/null does for git.
    return [entry for entry in files if entry[2] != "/dev/null"]


def load_config(env: "Mapping[str, str]", hosts: list[str] | None = None) -> "Config":
    """Load every layer, from the parsed-config cache when no file changed since it was written.

    ``hosts`` (host keys such as ``github.com`` and ``*.example.com``) limits the accounts to
    those domains: the helpers' ``get`` then reads only the cache shards those hosts live in
    (``[]``: none at all, for ``list``). Errors, ``[store]`` and engine tables are always
    complete; the docker listing when ``hosts`` is ``None`` or ``[]``.
    """
    files = layer_files(env)
    key = cache.current_key(files)
    found = [(layer, path, ident is not None) for layer, path, ident in key]
    cache_path = cache.path_for([path for _, _, path in files], env)
    hit = cache.read(cache_path, key, hosts)
    if hit is not None:
        return Config(hit[0], hit[1], hit[2], found, hit[3], hit[4])
    from gatepass.config.cachewrite import Parsing  # a miss: the cold path

    with Parsing(cache_path):
        hit = cache.read(cache_path, key, hosts)  # another helper's parse, written while we waited
        if hit is not None:
            return Config(hit[0], hit[1], hit[2], found, hit[3], hit[4])
        return _parse_and_cache(files, cache_path, hosts)


def _parse_and_cache(files: list[tuple[str, int, str]], cache_path: str, hosts: list[str] | None) -> "Config":
    """Parse every layer and write the cache (the cold path). The cyclic collector is paused meanwhile
    (whatever cycles the parse leaves are collected once it runs again): with 100,000 provider tables
    its passes over a million live objects that are all still in use cost more than the parse."""
    import gc

    from gatepass.config import cachewrite

    paused = gc.isenabled()
    gc.disable()
    try:
        started = time.time_ns()
        config, parsed_key = parse_identified(files)
        if not cache.racy(parsed_key, started):  # else the next call parses again (git's "racy" rule)
            cachewrite.write(cache_path, parsed_key, config.accounts, config.errors, config.store, config.listing,
                        config.engines)
        if hosts is not None:  # the caller's hosts only
            wanted = set(hosts)
            config.accounts = [a for a in config.accounts if a.host in wanted]
    finally:
        if paused:
            gc.enable()
    return config


def parse_files(files: list[tuple[str, int, str]]) -> "Config":
    """Parse and validate every existing file now; errors are collected, never raised."""
    return parse_identified(files)[0]


def parse_identified(files: list[tuple[str, int, str]]
                     ) -> "tuple[Config, list[tuple[str, str, tuple[int, ...] | None]]]":
    """``parse_files`` plus the identity (``cache.identity``) of each file as parsed, taken with
    ``fstat`` on the descriptor that was read: what the cache records."""
    accounts: list[Account] = []
    errors: list[str] = []
    store: dict[str, object] = {}
    engines: dict[str, dict[str, object]] = {}
    order = [0]
    key: list[tuple[str, str, tuple[int, ...] | None]] = []
    for layer, rank, path in files:
        ident, parsed, untrusted = _load_one(path, layer, rank, order, errors)
        key.append((layer, path, ident))
        if parsed is None:
            continue
        errors.extend(str(e) for e in parsed.errors)
        if untrusted:
            errors.append(f"{path}: contributes no secret: {untrusted}")
        else:  # [store] or [vault] from a layer others can write could redirect secrets
            store.update(parsed.store)
            engines.update(parsed.engines)  # table by table: a higher layer's [vault] replaces a lower one's
        for account in parsed.accounts:
            account.untrusted, account.source = untrusted, ident
        accounts.extend(parsed.accounts)
    found = [(layer, path, i is not None) for layer, path, i in key]
    return Config(accounts, errors, store, found, engines=engines), key


def _load_one(path: str, layer: str, rank: int, order: list[int], errors: list[str]
              ) -> "tuple[tuple[int, ...] | None, Parsed | None, str]":
    """(identity, parsed file, why it is untrusted) of one layer; (None, None, "") when it does not
    exist. Opened ``O_NONBLOCK`` (a FIFO put where a layer should be is refused, never waited on);
    identity, trust and content all come from that one descriptor."""
    try:
        fd = posix.open(path, posix.O_RDONLY | posix.O_NONBLOCK | posix.O_NOCTTY | posix.O_CLOEXEC)
    except FileNotFoundError:
        return None, None, ""
    except OSError as exc:
        errors.append(str(ConfigError(f"cannot be read ({exc.strerror}); check its owner and mode", path=path)))
        try:
            return cache.identity(posix.stat(path)), None, ""
        except OSError:
            return None, None, ""
    try:
        st = posix.fstat(fd)
        try:
            parsed, untrusted = _parse_fd(path, fd, st, layer, rank, order)
        except ConfigError as exc:
            errors.append(str(exc))
            return cache.identity(st), None, ""
        return cache.identity(st), parsed, untrusted
    finally:
        posix.close(fd)


def _read_fd(path: str, fd: int, st: "posix.stat_result") -> bytes:
    if st.st_mode & S_IFMT != S_IFREG:
        raise ConfigError("is not a regular file; point the layer at a TOML file", path=path)
    if st.st_size > MAX_CONFIG_BYTES:
        raise ConfigError(f"is larger than {MAX_CONFIG_BYTES // 2**20} MiB; split it", path=path)
    from gatepass.ownership import read_fd

    try:
        return read_fd(fd, MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"cannot be read ({exc.strerror}); check its owner and mode", path=path) from None


def _parse_fd(path: str, fd: int, st: "posix.stat_result", layer: str, rank: int, order: list[int]
              ) -> "tuple[Parsed, str]":
    from gatepass.config.schema import validate
    from gatepass.config.toml import parse_toml
    from gatepass.config.trust import inline_read_problem, layer_problem
    from gatepass.linemap import LineMap

    untrusted = layer_problem(path, fd, st) or ""  # judged on the descriptor: before or after the parse alike
    tree, text = parse_toml(_read_fd(path, fd, st), path)
    parsed = validate(tree, path, LineMap(text), layer, rank, order)
    del tree
    problem = inline_read_problem(path, fd, st) if parsed.inline_tokens else None
    if problem:  # its accounts are still listed, marked; none gives a secret
        untrusted = f"{untrusted}; it also {problem}" if untrusted else problem
    return parsed, untrusted
