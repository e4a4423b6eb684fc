"""Rootless podman and buildah, run by an ordinary user the test creates, against the real htpasswd registry.

They run the credential helper inside their user namespace, where root's directories show as the
overflow uid; gatepass trusts such a directory only where it recorded root owning that very inode
outside the namespace (docs/design.md, "Inside a user namespace"). Logins go into gatepass's
store and nothing lands in auth.json.
"""

from __future__ import annotations

import json
import os
import shutil

import pytest

from tests.support.local_user import local_user, needs_root, shared_dir
from tests.support.oci import seed_image
from tests.support.registry import Registry, missing_tools
from tests.support.rootless import Rootless, rootless_user

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600), needs_root]
TLS = "--tls-verify=false"


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    missing = missing_tools("podman", "buildah")
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (Debian: docker-registry apache2-utils skopeo podman buildah)")
    with Registry({"alice": "pw-alice", "bob": "pw-bob"}) as reg:
        seed_image(str(tmp_path_factory.mktemp("oci") / "layout"), reg.host, "alice", "pw-alice")
        yield reg


@pytest.fixture
def user():
    with rootless_user() as rootless:
        yield rootless


def ok(done) -> str:
    assert done.returncode == 0, done.stderr
    assert "pw-" not in done.stdout + done.stderr
    return done.stdout


def no_login_in_auth_file(user: Rootless, registry: Registry) -> None:
    for path in (user.auth_file, os.path.join(user.runtime, "containers", "auth.json")):
        if os.path.exists(path):
            with open(path) as handle:
                text = handle.read()
            assert "pw-" not in text and registry.host not in text, path


def pull_and_push(user: Rootless, registry: Registry, tag: str) -> None:
    """podman pull and push, buildah pull and push, each needing the registry's credentials."""
    source = f"{registry.host}/team/hello:v1"
    ok(user.run("podman", "pull", TLS, source))
    ok(user.run("podman", "push", TLS, source, f"docker://{registry.host}/team/pushed:podman-{tag}"))
    ok(user.run("buildah", "pull", TLS, source))
    ok(user.run("buildah", "push", TLS, source, f"docker://{registry.host}/team/pushed:buildah-{tag}"))
    for client in ("podman", "buildah"):
        assert registry.get(f"/v2/team/pushed/manifests/{client}-{tag}", "alice", "pw-alice") == 200


def test_podman_login_push_pull_and_buildah_through_registries_conf(registry, user):
    ok(user.run("gatepass", "setup", "containers"))
    ok(user.run("podman", "login", TLS, "--username", "alice", "--password-stdin", registry.host, stdin="pw-alice\n"))
    got = user.run("docker-credential-gatepass", "get", stdin=registry.host)  # outside the namespace: the same store
    assert got.returncode == 0 and json.loads(got.stdout) == {"ServerURL": registry.host, "Username": "alice", "Secret": "pw-alice"}
    no_login_in_auth_file(user, registry)
    pull_and_push(user, registry, "conf")
    no_login_in_auth_file(user, registry)


def test_podman_and_buildah_through_docker_credhelpers(registry, user):
    user.write(".config/gatepass/config.toml", f'[[docker_registry]]\ndomain = "http://{registry.host}"\n'
               'accounts = [{ username = "alice", token = "pw-alice" }]\n', mode=0o600)
    ok(user.run("gatepass", "setup", "docker", "--no-creds-store"))
    with open(os.path.join(user.home, ".docker", "config.json")) as handle:
        assert json.load(handle)["credHelpers"][registry.host] == "gatepass"
    pull_and_push(user, registry, "credhelpers")
    no_login_in_auth_file(user, registry)


STORE = '{"ServerURL":"registry.test","Username":"u","Secret":"pw-namespace"}'


def store_in_namespace(user: Rootless, env: dict[str, str]):
    return user.run("podman", "unshare", "docker-credential-gatepass", "store", stdin=STORE, env=env)


def test_without_a_record_the_namespace_refusal_names_the_fix_and_doctor_asks_for_it(user):
    done = store_in_namespace(user, {})
    assert done.returncode != 0 and "pw-namespace" not in done.stdout + done.stderr
    assert "belongs to uid 65534" in done.stdout + done.stderr
    assert "run gatepass setup containers outside" in done.stdout + done.stderr
    ok(user.run("gatepass", "setup", "containers"))
    record = os.path.join(user.home, ".local", "share", "gatepass", "root-owned")
    os.unlink(record)  # wired by an older gatepass, which kept no record
    doctor = user.run("gatepass", "doctor")
    assert "FIX  rootless podman and buildah will not trust root's directories" in doctor.stdout, doctor.stdout
    ok(user.run("gatepass", "setup", "containers"))
    assert "rootless podman" not in user.run("gatepass", "doctor").stdout
    ok(store_in_namespace(user, {}))


def test_an_attacker_directory_seen_as_the_overflow_uid_is_refused():
    """An attacker's directory in the chain shows as 65534 inside the namespace, as root's do: it was
    never recorded (gatepass saw its real owner outside) and stays refused. A root directory
    recorded at that path, then swapped by root for the attacker's, is refused too: the inode differs."""
    with rootless_user() as user, local_user() as attacker, shared_dir() as shared:
        box = os.path.join(shared, "box")
        os.mkdir(box, 0o755)
        os.chown(box, attacker.uid, attacker.gid)
        mine = os.path.join(box, "victim")
        os.mkdir(mine, 0o700)
        os.chown(mine, user.user.uid, user.user.gid)
        env = {"XDG_DATA_HOME": os.path.join(mine, "data")}
        ok(user.run("gatepass", "setup", "containers", env=env))
        done = store_in_namespace(user, env)
        assert done.returncode != 0 and f"{box} belongs to uid 65534" in done.stdout + done.stderr

        # The same layout with root owning the box works inside the namespace once recorded...
        os.chown(box, 0, 0)
        ok(user.run("gatepass", "setup", "containers", env=env))
        ok(store_in_namespace(user, env))
        # ...and a box put at that very path later (by root, the only one who can here) is not on the record.
        os.rename(box, box + ".old")
        os.mkdir(box, 0o755)
        os.chown(box, attacker.uid, attacker.gid)
        shutil.move(os.path.join(box + ".old", "victim"), mine)
        done = store_in_namespace(user, env)
        assert done.returncode != 0 and f"{box} belongs to uid 65534" in done.stdout + done.stderr


def test_a_root_owned_system_layer_still_gives_secrets_inside_the_namespace(user):
    """/etc/gatepass-style layer, root's, seen as 65534 inside the namespace: trusted as recorded, not refused."""
    with shared_dir() as shared:
        layer = os.path.join(shared, "global.toml")
        with open(layer, "w") as handle:
            handle.write('[[git_provider]]\ndomain = "git.example"\naccounts = [{ username = "ci", token_env = "GP_TOK" }]\n')
        os.chmod(layer, 0o644)
        env = {"GATEPASS_GLOBAL_CONFIG": layer, "GP_TOK": "pw-layer"}
        ok(user.run("gatepass", "setup", "containers", env=env))
        done = user.run("podman", "unshare", "git-credential-gatepass", "get", stdin="protocol=https\nhost=git.example\n",
                        env=env)
        assert done.stdout == "username=ci\npassword=pw-layer\n", done.stderr
        os.unlink(os.path.join(user.home, ".local", "share", "gatepass", "root-owned"))  # no record: refused, the fix named
        done = user.run("podman", "unshare", "git-credential-gatepass", "get", stdin="protocol=https\nhost=git.example\n",
                        env=env)
        assert done.stdout == "" and "run gatepass setup containers outside them" in done.stderr, done.stderr
