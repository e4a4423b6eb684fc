"""Real git clones with tokens that are never in plain text: sealed to this host, or from a command."""

from __future__ import annotations

import pytest

from gatepass.sealing import binding, create_key, seal
from tests.conftest import write_config
from tests.e2e.test_git import git
from tests.support.git_server import GitServer

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


def test_clone_with_a_token_sealed_to_this_host(tmp_path, isolated_env, monkeypatch):
    with GitServer(str(tmp_path / "srv"), {"deploy": "tok-sealed-only"}) as server:
        public = create_key(str(tmp_path / "this-host.key"))
        other = create_key(str(tmp_path / "other-host.key"))
        monkeypatch.setenv("GATEPASS_HOST_KEY", str(tmp_path / "this-host.key"))
        domain = f"127.0.0.1:{server.port}"
        value = seal("tok-sealed-only", [public], binding("git", "127.0.0.1", server.port, "deploy"))
        host_file = write_config(isolated_env["GATEPASS_HOST_CONFIG"], f'[[git_provider]]\ndomain = "{domain}"\n'
                                 f'https = false\naccounts = [{{ username = "deploy", token = "{value}" }}]\n', 0o644)
        assert "tok-sealed-only" not in host_file.read_text()
        git("clone", "-q", server.url + "repo.git", str(tmp_path / "ok"))
        assert server.users_seen() == {"deploy"}

        elsewhere = seal("tok-sealed-only", [other], binding("git", "127.0.0.1", server.port, "deploy"))
        write_config(host_file, host_file.read_text().replace(value, elsewhere), 0o644)
        done = git("clone", "-q", server.url + "repo.git", str(tmp_path / "no"), check=False)
        assert done.returncode != 0 and "sealed for another host" in done.stderr


def test_clone_with_a_token_command_cached_until_ttl(tmp_path, isolated_env, monkeypatch):
    with GitServer(str(tmp_path / "srv"), {"bot": "tok-1"}) as server:
        counter, script = tmp_path / "n", tmp_path / "mint.sh"
        script.write_text(f"#!/bin/sh\nn=$(cat {counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {counter}\n"
                          'echo "tok-$n"\n')
        script.chmod(0o700)
        write_config(isolated_env["GATEPASS_USER_CONFIG"], f'[[git_provider]]\ndomain = "127.0.0.1:{server.port}"\n'
                     f'https = false\naccounts = [{{ username = "bot", token_command = ["{script}"], ttl = 3 }}]\n')
        git("clone", "-q", server.url + "repo.git", str(tmp_path / "a"))
        git("clone", "-q", server.url + "repo.git", str(tmp_path / "b"))  # cached: the command ran once
        assert counter.read_text().strip() == "1"
        server._server.users["bot"] = "tok-2"  # the server moves on to the next token
        import time

        time.sleep(3.2)
        git("clone", "-q", server.url + "repo.git", str(tmp_path / "c"))
        assert counter.read_text().strip() == "2"
