"""Property tests: any bytes into either helper give a correct answer or none, never a traceback or a bad line."""

from __future__ import annotations

import io
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gatepass.protocol import docker, git
from tests.conftest import write_config

CONFIG = """
[[git_provider]]
domain = "example.com"
accounts = [{ username = "bot", token = "tok-bot" }]
[[docker_registry]]
domain = "example.com"
accounts = [{ username = "bot", token = "tok-bot" }]
"""
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
MAX_LINE = 64 * 1024

attribute_lines = st.lists(st.one_of(
    st.sampled_from([b"protocol=https", b"host=example.com", b"username=bot", b"path=a/b", b"capability[]=authtype",
                     b"host=EXAMPLE.com.", b"protocol=http", b"host=example.com:443", b"", b"password=x"]),
    st.binary(max_size=40)), max_size=12)


def env_with_config(tmp_path) -> dict[str, str]:
    path = tmp_path / "c.toml"
    if not path.exists():
        write_config(path, CONFIG)
    return dict(os.environ, GATEPASS_CONFIG=str(path))


def check_output(out: bytes) -> None:
    for line in out.split(b"\n")[:-1]:
        assert b"\r" not in line and b"\0" not in line and len(line) <= MAX_LINE


@FUZZ
@given(data=st.one_of(st.binary(max_size=300), attribute_lines.map(b"\n".join)))
def test_git_helper_any_bytes(tmp_path, data):
    out, err = io.BytesIO(), io.BytesIO()
    code = git.main(["get"], io.BytesIO(data), out, err, env_with_config(tmp_path))
    assert code == 0
    answer, diagnostics = out.getvalue(), err.getvalue()
    check_output(answer)
    assert b"Traceback" not in diagnostics and diagnostics.count(b"\n") <= 2
    if answer:
        assert answer == b"username=bot\npassword=tok-bot\n"
        attrs = git.parse_request(data.split(b"\n\n", 1)[0] if b"\n\n" in data else data)
        assert git.to_request(attrs).host == "example.com"
    elif not diagnostics:  # silent no-answer only for a well-formed request no account matches
        git.to_request(git.parse_request(data.split(b"\n\n", 1)[0]))


@FUZZ
@given(data=st.one_of(st.binary(max_size=200), st.text(max_size=60).map(str.encode),
                      st.sampled_from([b"example.com", b"https://example.com/v2/", b"EXAMPLE.COM\n"])))
def test_docker_helper_any_bytes(tmp_path, data):
    out, err = io.BytesIO(), io.BytesIO()
    code = docker.main(["get"], io.BytesIO(data), out, err, env_with_config(tmp_path))
    answer = out.getvalue()
    assert answer.endswith(b"\n") and answer.count(b"\n") == 1 and len(answer) <= MAX_LINE
    assert b"Traceback" not in err.getvalue()
    if code == 0:
        assert b'"Username":"bot","Secret":"tok-bot"' in answer
        assert docker.to_request(data.decode().strip()).host == "example.com"
    else:
        assert code == 1 and b"tok-bot" not in answer


@FUZZ
@given(text=st.text(max_size=400))
def test_config_loader_any_text_never_raises_or_leaks(tmp_path, text):
    from gatepass.config.layers import parse_files

    path = write_config(tmp_path / "fuzz.toml", text)
    config = parse_files([("config", 0, str(path))])
    for error in config.errors:
        assert "\n" not in error and error.startswith(str(path))


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    assert isinstance(value, dict)
    return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"


scalars = st.one_of(st.booleans(), st.integers(-5, 5), st.sampled_from(["CANARY-tok", "example.com", "*.x.io",
                                                                        "http://r:5000", "", "a b", "acme"]))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.sampled_from(["username", "token", "x"]),
                                                                       inner, max_size=3)), max_leaves=6)
keys = st.sampled_from(["domain", "https", "accounts", "organizations", "nope"])
account_keys = st.sampled_from(["username", "token", "token_file", "token_env", "token_command", "ttl",
                                "organizations", "tokn"])
accounts = st.lists(st.dictionaries(account_keys, st.one_of(values, st.just("CANARY-tok")), max_size=4), max_size=3)


@FUZZ
@given(table=st.sampled_from(["git_provider", "docker_registry", "image_registry"]),
       body=st.dictionaries(keys, values, max_size=4), acc=accounts)
def test_config_loader_structured_fuzz(tmp_path, table, body, acc):
    from gatepass.config.layers import parse_files

    body = dict(body, accounts=acc)
    text = f"[[{table}]]\n" + "".join(f"{k} = {toml_value(v)}\n" for k, v in body.items())
    path = write_config(tmp_path / "fuzz.toml", text)
    config = parse_files([("config", 0, str(path))])
    for error in config.errors:
        assert "CANARY" not in error and "\n" not in error and error.startswith(str(path))
    for account in config.accounts:
        assert account.username and isinstance(account.username, str)
