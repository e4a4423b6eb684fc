"""config.fleet against the general path (toml_subset or tomli, then schema.validate): the same accounts in the
same order with the same places, or None, and then the general path reads the file (#14)."""

from __future__ import annotations

import tomli
from hypothesis import given, settings
from hypothesis import strategies as st

from gatepass.config import fleet
from gatepass.config.lines import LineMap
from gatepass.config.schema import validate
from gatepass.model import Account

PATH = "/etc/gatepass/host.d/fleet.toml"


def general(text: str, start: int) -> tuple[list[tuple[object, ...]] | None, bool, int]:
    """(account tuples, inline_tokens, order after) by the general path; None when it reports any error."""
    try:
        tree = tomli.loads(text)
    except tomli.TOMLDecodeError:
        return None, False, start
    order = [start]
    parsed = validate(tree, PATH, LineMap(text), "host", 20, order)
    if parsed.errors or parsed.store or parsed.engines:
        return None, False, start
    return [a.to_tuple() for a in parsed.accounts], parsed.inline_tokens, order[0]


SOURCE = (1, 2, 0, 0o100600, 10, 11, 12)


def agrees(text: str, start: int = 7) -> bool:
    """fleet.read gives the general path's accounts (as Accounts, and as cache rows when asked), or None."""
    order, order_rows = [start], [start]
    mine = fleet.read(text.encode("utf-8"), PATH, "host", 20, order)
    as_rows = fleet.read(text.encode("utf-8"), PATH, "host", 20, order_rows, ("", SOURCE))
    if mine is None:
        assert as_rows is None and order == order_rows == [start], "order moved by a file the fleet reader did not take"
        return False
    theirs, inline, after = general(text, start)
    assert theirs is not None, text  # the fleet reader never takes a file the general path rejects
    assert [a.to_tuple() for a in mine.accounts] == theirs, text
    assert (mine.inline_tokens, order[0], mine.errors, mine.store, mine.engines, mine.rows) == (inline, after, [], {}, {}, [])
    assert as_rows is not None and order_rows == order
    with_source = [(*row[:-1], SOURCE) for row in theirs]
    assert sorted([*(a.to_tuple()[:-1] + (SOURCE,) for a in as_rows.accounts), *as_rows.rows],
                  key=lambda row: row[14]) == with_source, text  # [14]: order
    return True


FLEET = ('[[git_provider]]\ndomain = "host-{i}.example.com"\naccounts = [{{ username = "user-{i}", token = "tok-{i}" }}]\n')


def test_the_benchmarks_fleet_file_is_taken():
    assert agrees("".join(FLEET.format(i=i) for i in range(50)))


@settings(max_examples=400)
@given(st.lists(st.tuples(
    st.sampled_from(["[[git_provider]]", "[[docker_registry]]", "[[image_registry]]", "[[docker_registries]]",
                     "[[ git_provider ]]", "[git_provider]", "[store]"]),
    st.sampled_from(["g.example", "Git.Example", "index.docker.io", "docker.io", "h:8443", "*.w.example", "a..b", "",
                     'x" y', "https://r.example", "ghcr.io"]),
    st.sampled_from([None, "true", "false", "1"]),
    st.lists(st.tuples(st.sampled_from(["u", "v", "", "a b", "ü", "x#y", "q'"]),
                       st.sampled_from(["t", "", " tok", "-----BEGIN AGE ENCRYPTED FILE-----", "gatepass:sealed:x",
                                        "age-encryption.org/v1", "a\tb", "ɸ", "x#y", "[y]"])), max_size=3),
    st.sampled_from(["", "# a comment\n", "\n", "  \n"]),
    st.booleans()), max_size=5))
def test_fleet_files_read_as_the_general_path_reads_them(tables):
    text = ""
    for header, domain, https, accounts, between, domain_first in tables:
        lines = [f'domain = "{domain}"']
        if https is not None:
            lines.append(f"https = {https}")
        listed = ", ".join(f'{{ username = "{u}", token = "{t}" }}' for u, t in accounts)
        lines.insert(0 if not domain_first else len(lines), f"accounts = [{listed}]")
        text += header + "\n" + between + "\n".join(lines) + "\n"
    agrees(text)


def test_mixed_tables_are_numbered_as_validate_numbers_them():
    """git tables first, then each docker table name in its order (not file order), Docker Hub's alias kept as domain."""
    assert agrees('[[docker_registry]]\ndomain = "index.docker.io"\naccounts = [{ username = "u", token = "t" }]\n'
                  '[[git_provider]]\ndomain = "g.example"\nhttps = false\naccounts = [{ username = "a", token = "b" }, '
                  '{ username = "c", token = "d" }]\n[[image_registry]]\ndomain = "r.example"\n'
                  'accounts = [{ username = "x", token = "y" }]\n')


def test_what_the_fleet_reader_leaves_to_the_general_path():
    one = '[[git_provider]]\ndomain = "g.example"\naccounts = [{ username = "u", token = "t" }]\n'
    for text in [
        "[store]\nbackend = \"memory\"\n" + one,  # another table
        one.replace('domain = "g.example"', 'domain="g.example"'),  # other spacing
        one.replace('"t" }]', '"t" }] # note'),  # a comment after a value
        one.replace('"t" }]', '"t", ttl = 5 }]'),  # another key
        one.replace("g.example", "G.example"),  # a domain to normalise
        one.replace('"u"', '"u", token = "t" }, { username = "u"'),  # a repeated username
        one.replace('"t"', '"x\\\\y"'),  # an escape
        '[[docker_registry]]\ndomain = "r.example"\nhttps = true\naccounts = [{ username = "u", token = "t" }]\n',
        '[[git_provider]]\naccounts = [{ username = "u", token = "t" }]\n',  # the default domain
        one + 'domain = "again.example"\n',  # a key twice
        "\ufeff" + one,  # a byte order mark
    ]:
        order = [3]
        assert fleet.read(text.encode(), PATH, "host", 20, order) is None, text
        assert order == [3]


def test_an_empty_file_gives_no_accounts_as_the_general_path_does():
    assert agrees("") and agrees("# only a comment\n\n")


def test_every_account_field_is_set():
    parsed = fleet.read(FLEET.format(i=1).encode(), PATH, "host", 20, [0])
    assert parsed is not None
    assert all(hasattr(parsed.accounts[0], name) for name in Account.FIELDS)


UNIFORM = '[[{name}]]\ndomain = "{domain}"\naccounts = [{{ username = "{user}", token = "{token}" }}]\n'


def test_the_uniform_file_is_read_as_the_general_path_reads_it():
    """One table name, every table exactly three lines: read by slicing, without a loop over the lines."""
    def fleet_file(name: str, domain: str = "h{i}.example", user: str = "u{i}", token: str = "t{i}", n: int = 4) -> str:
        return "".join(UNIFORM.format(name=name, domain=domain.format(i=i), user=user.format(i=i),
                                      token=token.format(i=i)) for i in range(n))
    for name in ("git_provider", "docker_registry", "image_registry", "docker_registries"):
        assert agrees(fleet_file(name))
        assert agrees(fleet_file(name).rstrip("\n"))  # no newline at the end
        assert agrees(fleet_file(name, n=1))
    assert agrees(fleet_file("docker_registry", domain="index.docker.io"))  # Docker Hub's alias: host docker.io
    for text in [fleet_file("git_provider", token="a\nb{i}"),  # a string across lines: not TOML
                 fleet_file("git_provider", user=""), fleet_file("git_provider", token=" gatepass:sealed:{i}"),
                 fleet_file("git_provider", token="\u00a0-----BEGIN AGE ENCRYPTED FILE-----{i}"),  # lstrip's whitespace
                 fleet_file("git_provider", token="age-encryption.org/v1{i}"), fleet_file("git_provider", domain="h{i}."),
                 fleet_file("git_provider", domain=".h{i}"), fleet_file("git_provider", domain="h{i}..x"),
                 fleet_file("git_provider", domain="H{i}.example"),
                 fleet_file("git_provider") + "[[docker_registry]]\n", fleet_file("git_provider")[:-3]]:
        assert not agrees(text), text
    assert agrees(fleet_file("git_provider").replace("\n", "\n\n", 1))  # not uniform: read line by line


def test_a_uniform_layer_beside_another_loads_as_parsing_both_gives(tmp_path):
    """Through load_config: the cold get (rows become Accounts for its host only), the cache it wrote, and a
    full load all give the accounts parse_files gives, in the same order across the two layers."""
    from gatepass.config.layers import layer_files, load_config, parse_files
    from tests.conftest import write_config
    from tests.support.racy import cacheable

    uniform = cacheable(write_config(tmp_path / "a.toml", "".join(
        UNIFORM.format(name="git_provider", domain=f"h{i}.example", user=f"u{i}", token=f"t{i}") for i in range(5))))
    other = cacheable(write_config(tmp_path / "b.toml", '[[git_provider]]\ndomain = "h1.example"\n'
                                   'accounts = [{ username = "w", token_env = "W" }]\n'))
    env = {"GATEPASS_CONFIG": f"{uniform}:{other}", "XDG_CACHE_HOME": str(tmp_path / "cache"), "HOME": str(tmp_path)}
    expected = [a.to_tuple() for a in parse_files(layer_files(env)).accounts]
    assert len(expected) == 6 and not parse_files(layer_files(env)).errors
    cold = load_config(env, ["h1.example"])
    assert [a.to_tuple() for a in cold.accounts] == [t for t in expected if t[2] == "h1.example"]
    assert list((tmp_path / "cache" / "gatepass").glob("config-*.cache")), "the cold get wrote the cache"
    warm = load_config(env, ["h1.example"])
    assert [a.to_tuple() for a in warm.accounts] == [t for t in expected if t[2] == "h1.example"]
    full = load_config(env)
    assert sorted(a.to_tuple() for a in full.accounts) == sorted(expected)
