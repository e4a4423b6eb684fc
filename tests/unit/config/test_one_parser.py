"""One parser decides what a config file says: tomli's tree, then the documented rules (docs/design.md §1).

The attack first: a file whose multi-line string holds text shaped like a provider table. Every TOML
reader (Komodo's too) sees one provider; a reader of its own that read it otherwise handed
``evil.test`` the github.com token. Then a differential test: on generated files (multi-line
strings, comments holding quotes, CR/CRLF, a BOM, tabs and Unicode whitespace, dotted and quoted
keys, inline tables, arrays of tables interleaved with other tables), gatepass's accounts are
exactly what the rules below make of ``tomli.loads``, and a file tomli refuses is refused with
tomli's words and line.
"""

from __future__ import annotations

import os
import subprocess

import tomli
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from gatepass.config.layers import parse_files
from gatepass.hosts import normalize_domain
from tests.conftest import write_config

MOTD = '''[[git_provider]]
domain = "github.com"
accounts = [{ username = "alice", token_env = "GITHUB_TOKEN" }]
[komodo]
motd = """
[[git_provider]]
domain = "evil.test"
accounts = [{ username = "alice", token_env = "GITHUB_TOKEN" }]
#"""
'''


def helper_get(config, host: str) -> subprocess.CompletedProcess[bytes]:
    env = dict(os.environ, GATEPASS_CONFIG=str(config), GITHUB_TOKEN="CANARY-github-token")
    return subprocess.run(["git-credential-gatepass", "get"], input=f"protocol=https\nhost={host}\n".encode(),
                          env=env, capture_output=True, timeout=60)


def test_a_provider_inside_a_multiline_string_gets_nothing(tmp_path):
    config = write_config(tmp_path / "core.toml", MOTD)
    assert len(tomli.loads(MOTD)["git_provider"]) == 1
    for _ in range(2):  # the parse, then the cache it wrote
        evil = helper_get(config, "evil.test")
        assert (evil.returncode, evil.stdout, evil.stderr) == (0, b"", b"")
        assert helper_get(config, "github.com").stdout == b"username=alice\npassword=CANARY-github-token\n"


def test_a_file_toml_refuses_is_refused_with_tomlis_words_and_line(tmp_path):
    config = write_config(tmp_path / "c.toml", '[[git_provider]]\ndomain = "github.com"\n'
                                               'accounts = [{ username = "alice", token_env = "GITHUB_TOKEN" }]"\n')
    done = helper_get(config, "github.com")
    assert done.stdout == b""
    assert done.stderr.decode() == (f"gatepass: {config}:3: TOML syntax error: "
                                    "Expected newline or end of document after a statement\n")


def test_a_byte_order_mark_is_named(tmp_path):
    config = write_config(tmp_path / "c.toml", "\ufeff[[git_provider]]\naccounts = [{ username = \"a\", token = \"t\" }]\n")
    [error] = parse_files([("config", 0, str(config))]).errors
    assert error == f"{config}:1: TOML syntax error: Invalid statement (the file starts with a byte order mark; " \
                    "save it as UTF-8 without one)"


# --- the documented rules over tomli's tree, written out independently of config/schema.py ----------------

GIT_TABLES = ("git_provider",)
DOCKER_TABLES = ("docker_registry", "image_registry", "docker_registries")  # read in this order, after git's
# domain as written -> (host, port, https from the scheme or None), per kind; None: not a valid domain.
DOMAINS = {
    "git": {"github.com": ("github.com", None, None), "Git.Example": ("git.example", None, None),
            "h.example:8443": ("h.example", 8443, None), "*.w.example": ("*.w.example", None, None),
            "index.docker.io": ("index.docker.io", None, None), "http://r.example:5000": None, "a..b": None,
            "": None, "h.example:443": ("h.example", 443, None)},
    "docker": {"github.com": ("github.com", None, None), "Git.Example": ("git.example", None, None),
               "h.example:8443": ("h.example", 8443, None), "*.w.example": ("*.w.example", None, None),
               "index.docker.io": ("docker.io", None, None), "http://r.example:5000": ("r.example", 5000, False),
               "a..b": None, "": None, "h.example:443": ("h.example", 443, None)},
}
SECRETS = {"token": "inline", "token_env": "env", "token_file": "file"}


def expected(tree: dict) -> tuple[list[tuple], bool]:
    """(accounts as (kind, domain, host, port, secure, username, secret kind, reference, place), whether any
    provider or account is refused) by the rules of docs/design.md §1, for the keys this test generates."""
    accounts, refused = [], False
    for kind, tables in (("git", GIT_TABLES), ("docker", DOCKER_TABLES)):
        for table in tables:
            providers = tree.get(table)
            if providers is None:
                continue
            if not isinstance(providers, list):
                refused = True
                continue
            for index, provider in enumerate(providers):
                made, bad = _provider(kind, table, index, provider)
                accounts += made
                refused = refused or bad
    return accounts, refused


def _provider(kind: str, table: str, index: int, provider: object) -> tuple[list[tuple], bool]:
    known = {"domain", "accounts", "organizations"} | ({"https"} if kind == "git" else set())
    if not isinstance(provider, dict) or set(provider) - known:
        return [], True
    domain = provider.get("domain", "github.com" if kind == "git" else "docker.io")
    https = provider.get("https", True)
    accounts = provider.get("accounts", [])
    if domain == "docker.io":
        normal = ("docker.io", None, None)
    elif not isinstance(domain, str):
        return [], True
    elif domain in DOMAINS[kind]:
        normal = DOMAINS[kind][domain]
    else:  # a domain the generator's edits made (a BOM or NBSP inside the string): hosts.py's rule, tested on its own
        try:
            normal = normalize_domain(kind, domain)
        except ValueError:
            return [], True
    if normal is None or not isinstance(https, bool) or not isinstance(accounts, list):
        return [], True
    host, port, scheme_https = normal
    secure = https if kind == "git" else scheme_https is not False
    made, seen, refused = [], set(), False
    for position, entry in enumerate(accounts):
        account = _account(entry)
        if account is None or account[0] in seen:
            refused = True
            continue
        seen.add(account[0])
        made.append((kind, domain, host, port, secure, *account, (table, index, position)))
    return made, refused


def _account(entry: object) -> tuple[str, str, str] | None:
    if not isinstance(entry, dict) or set(entry) - {"username", *SECRETS}:
        return None
    username = entry.get("username")
    given = [name for name in SECRETS if name in entry]
    if not isinstance(username, str) or not username or len(given) != 1:
        return None
    value = entry[given[0]]
    if not isinstance(value, str) or not value:
        return None
    if given[0] == "token" and ("\n" in value or "\r" in value or "\0" in value):
        return None  # a token is one line
    return username, SECRETS[given[0]], value


# --- generated files ----------------------------------------------------------------------------------------

# Text a value may hold: TOML's punctuation, both quotes, a backslash, a tab, Unicode whitespace and letters.
CHARS = st.sampled_from(list('abAZ09 -_.#="\'[]{},\\\t') + ["\u00a0", "\u2003", "\u3000", "é", "ß", "\n", "\r\n"])
TEXT = st.lists(st.one_of(st.sampled_from(list("abcxyz")), CHARS), max_size=6).map("".join)
USERNAMES = st.one_of(st.sampled_from(["alice", "bob", "alice", ""]), TEXT)
SPACE = st.sampled_from([" ", "", "\t", "  ", " \t"])
ODD_SPACE = st.sampled_from([" ", "", "\t", "\u00a0", "\u2003"])  # the last two are not TOML whitespace
COMMENT = st.sampled_from(["", " # a comment", ' # "', ' # """', " # '''", "\t# [[git_provider]]",
                           ' # domain = "evil.test"', " #\u00a0é", ' # accounts = [{ username = "x" }]'])


def rarely(n: int) -> st.SearchStrategy[bool]:
    """True about once in ``n + 1`` draws (an integer strategy would favour its bounds)."""
    return st.sampled_from([False] * n + [True])


@st.composite
def string(draw, value: str) -> str:
    """``value`` written as one of TOML's four string kinds (or, now and then, wrongly)."""
    kind = draw(st.sampled_from(["basic", "basic", "literal", "multi", "multi_literal", "escaped"]))
    if draw(rarely(30)):  # unescaped as it is: invalid where it holds a quote, a backslash or a newline
        return f'"{value}"'
    if kind == "literal" and "'" not in value and "\n" not in value and "\r" not in value:
        return f"'{value}'"
    if kind == "multi_literal" and "'''" not in value and not value.endswith("'"):
        return "'''" + draw(st.sampled_from(["", "\n"])) + value + "'''"
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    if kind == "multi":
        return '"""' + draw(st.sampled_from(["", "\n"])) + escaped + '"""'
    escaped = escaped.replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t")
    if kind == "escaped":
        escaped = "".join(f"\\u{ord(c):04X}" if c.isalpha() else c for c in escaped)
    return f'"{escaped}"'


@st.composite
def key(draw, name: str) -> str:
    return draw(st.sampled_from([name, name, f'"{name}"', f"'{name}'"]))


@st.composite
def pair(draw, name: str, value: str) -> str:
    after = draw(ODD_SPACE) if draw(rarely(30)) else draw(SPACE)
    return draw(key(name)) + draw(SPACE) + "=" + after + value


@st.composite
def account(draw) -> str:
    secret = draw(st.sampled_from(["token", "token", "token_env", "token_file", "tokn"]))
    fields = [draw(pair("username", draw(string(draw(USERNAMES))))),
              draw(pair(secret, draw(string(draw(st.one_of(st.just("CANARY-tok"), TEXT))))))]
    return "{ " + ", ".join(draw(st.permutations(fields))) + " }"


@st.composite
def accounts_value(draw) -> str:
    items = draw(st.lists(account(), max_size=3))
    if draw(st.booleans()):
        return "[" + ", ".join(items) + "]"
    lines = "".join(f"\n  {item}," + draw(COMMENT) for item in items)  # trailing commas and comments inside
    return "[" + lines + "\n]"


@st.composite
def provider(draw, table: str) -> str:
    """One provider as ``[[table]]`` with key lines, or with ``[[table.accounts]]`` sub-tables."""
    lines = [f"[[{table}]]" + draw(COMMENT)]
    domain = draw(st.sampled_from([*DOMAINS["git"], None]))
    if domain is not None:
        lines.append(draw(pair("domain", draw(string(domain)))) + draw(COMMENT))
    if draw(rarely(3)):
        lines.append(draw(pair("https", draw(st.sampled_from(["true", "false", '"yes"'])))))
    if draw(rarely(4)):  # the accounts as an array of tables, with dotted and quoted keys
        for _ in range(draw(st.integers(1, 2))):
            lines.append(f"[[{table}.accounts]]")
            lines.append(draw(pair("username", draw(string(draw(USERNAMES))))))
            lines.append(draw(pair(draw(st.sampled_from(["token", "token_env"])), draw(string("CANARY-tok")))))
    else:
        lines.append(draw(pair("accounts", draw(accounts_value()))) + draw(COMMENT))
    return "\n".join(lines)


@st.composite
def other_table(draw, n: int) -> str:
    """Tables and keys gatepass does not read, holding text shaped like the ones it does."""
    fake = draw(st.sampled_from(['[[git_provider]]\ndomain = "evil.test"\naccounts = [{ username = "alice", '
                                 'token_env = "GITHUB_TOKEN" }]\n#', '"\n[[docker_registry]]\n', "'''\n[komodo]\n"]))
    return draw(st.sampled_from([
        f"[komodo{n}]\n" + draw(pair("motd", draw(string(fake)))),
        f"[komodo{n}.sub]\n" + draw(pair("a.b", draw(string(fake)))) + "\nc . d = 1",
        f'[komodo{n}]\ntitle = "x"\n' + draw(pair("motd", '"""' + fake.replace('"', "'") + '"""')),
        "# " + fake.replace("\n", "\n# "),
        '[store]\nbackend = "memory"' if n == 0 else "# no store here",
        f"[\"quoted table {n}\"]\nx = [1, 2,\n  3]",
    ]))


@st.composite
def document(draw) -> str:
    blocks = []
    if draw(st.booleans()):  # top-level keys before the first table, one of them a dotted one
        blocks.append(draw(pair("title", draw(string(draw(TEXT))))) + "\nkomodo.motd = 'x'")
    if draw(rarely(4)):  # a provider array written inline, as a plain key
        blocks.append("image_registry = [{ domain = \"h.example:8443\", accounts = [" + draw(account()) + "] }]")
    tables = st.sampled_from([*GIT_TABLES, *DOCKER_TABLES])
    for n in range(draw(st.integers(0, 5))):  # arrays of tables interleaved with each other and with other tables
        blocks.append(draw(st.one_of(provider(draw(tables)), other_table(n))))
    text = "\n".join(blocks) + draw(st.sampled_from(["\n", "", "\n\n"]))
    text = text.replace("\n", draw(st.sampled_from(["\n", "\n", "\r\n"])))
    if draw(rarely(9)):
        position = draw(st.integers(0, len(text)))
        text = text[:position] + draw(st.sampled_from(["\r", "\ufeff", '"', "\u00a0", "\t", "#"])) + text[position:]
    if draw(rarely(15)):
        text = "\ufeff" + text
    return text


def gatepass_reading(tmp_path, text: str) -> tuple[list[tuple], list[str], str]:
    path = tmp_path / "fleet.toml"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    path.chmod(0o600)
    config = parse_files([("config", 0, str(path))])
    accounts = [(a.kind, a.domain, a.host, a.port, a.secure, a.username, a.secret_kind, a.secret_ref, a.line)
                for a in config.accounts]
    orders = [a.order for a in config.accounts]
    assert orders == sorted(set(orders)), "file order is the order accounts are listed in"
    return accounts, config.errors, str(path)


@settings(max_examples=600, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(document())
@example(MOTD)
@example(MOTD.replace("\n", "\r\n"))
@example('[[git_provider]]\ndomain = "\ufeffgithub.com"\naccounts = [{ username = "a", token = "t" }]\n')
@example('[[git_provider]]\naccounts = [{ username = "a", token = "t" }]\n[komodo]\nx = 1\n'
         '[[docker_registries]]\ndomain = "index.docker.io"\naccounts = [{ username = "d", token = "t" }]\n'
         '[[git_provider]]\ndomain = "h.example:8443"\naccounts = [{ username = "b", token = "t" }]\n')
def test_accounts_are_tomlis_tree_read_by_the_documented_rules(tmp_path, text):
    accounts, errors, path = gatepass_reading(tmp_path, text)
    try:
        tree = tomli.loads(text)
    except tomli.TOMLDecodeError as exc:
        assert accounts == []
        assert len(errors) == 1 and errors[0].startswith(f"{path}:{exc.lineno}: TOML syntax error: {exc.msg}"), errors
        return
    want, refused = expected(tree)
    assert accounts == want
    assert bool(errors) == refused, errors
    for error in errors:
        assert "CANARY" not in error and "\n" not in error and error.startswith(path)
