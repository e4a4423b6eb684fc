#!/usr/bin/python
"""Ansible module: one gatepass config file in Komodo's format, every ``token`` sealed to this host."""

from __future__ import annotations

DOCUMENTATION = r"""
module: gatepass_config
short_description: Write a gatepass config file whose tokens are sealed to this host
description:
  - Renders C(tables) (Komodo's format as data, for example C({git_provider: [...], docker_registry: [...]}))
    into TOML at C(dest). Every account C(token) is sealed on the host with
    C(gatepass seal --to RECIPIENT --reuse DEST), so a value already in C(dest) that opens here to the
    same token and account is kept byte for byte (age output is randomized: without reuse every run
    would change the file). No plaintext token is written, returned or logged; run the task with no_log.
  - Other account keys (token_file, token_env, token_command, ttl, organizations, engines) pass through.
  - The file is replaced atomically (temp file, fsync, rename) only when its text changes; mode 0644,
    since sealed values may be world-readable.
options:
  dest: {description: The config file to write., required: true, type: path}
  tables: {description: Top-level tables (git_provider, docker_registry and aliases)., required: true, type: dict}
  gatepass: {description: The gatepass executable., required: true, type: path}
  recipient: {description: The host's public key (gatepass host-key)., required: true, type: str}
  host_key: {description: The host identity that opens existing values (GATEPASS_HOST_KEY)., required: true, type: path}
  mode: {description: Mode of the file., default: "0644", type: str}
"""

import json
import os
import subprocess
import tempfile

from ansible.module_utils.basic import AnsibleModule

GIT_TABLES = ("git_provider",)
DOCKER_TABLES = ("docker_registry", "image_registry", "docker_registries")
HEADER = ("# Written by the gatepass Ansible role: edits here are overwritten.\n"
          "# Every token is an age file sealed to this host (gatepass seal); none is in clear.\n")


def toml_value(value):
    """A TOML value for plain data: strings, booleans, integers, arrays and inline tables."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a TOML basic string (\uXXXX escapes included)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(str(k))} = {toml_value(v)}" if not str(k).isidentifier()
                                else f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise ValueError(f"cannot write a {type(value).__name__} in TOML")


def sealed_value(module, params, kind, provider, username, token):
    domain = provider.get("domain", "github.com" if kind == "git" else "docker.io")
    argv = [params["gatepass"], "seal", "--to", params["recipient"], "--kind", kind, "--domain", str(domain),
            "--username", str(username), "--reuse", params["dest"]]
    if kind == "git" and provider.get("https", True) is False:
        argv += ["--scheme", "http"]
    env = dict(os.environ, GATEPASS_HOST_KEY=params["host_key"])
    done = subprocess.run(argv, input=(str(token) + "\n").encode(), capture_output=True, env=env, timeout=120)
    if done.returncode != 0:
        module.fail_json(msg=f"gatepass seal failed for {username}@{domain}: {done.stderr.decode(errors='replace').strip()}")
    value = done.stdout.decode("ascii")
    if "'''" in value or not value.startswith("-----BEGIN AGE ENCRYPTED FILE-----"):
        module.fail_json(msg=f"gatepass seal printed no armored age file for {username}@{domain}")
    return value


def render_account(module, params, kind, provider, account):
    fields = []
    for key, value in account.items():
        if key == "token":
            value = sealed_value(module, params, kind, provider, account.get("username", ""), value)
            fields.append(f"token = '''\n{value}'''")
        else:
            fields.append(f"{key} = {toml_value(value)}")
    return "  { " + ", ".join(fields) + " },\n"


def render(module, params):
    out = [HEADER]
    for table, providers in params["tables"].items():
        if table not in GIT_TABLES + DOCKER_TABLES:
            module.fail_json(msg=f"unknown table {table} (known: {', '.join(GIT_TABLES + DOCKER_TABLES)})")
        kind = "git" if table in GIT_TABLES else "docker"
        for provider in providers or []:
            out.append(f"\n[[{table}]]\n")
            for key, value in provider.items():
                if key != "accounts":
                    out.append(f"{key} = {toml_value(value)}\n")
            accounts = provider.get("accounts") or []
            out.append("accounts = [\n" + "".join(render_account(module, params, kind, provider, a) for a in accounts) + "]\n")
    return "".join(out)


def write_atomic(path, text, mode):
    directory = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix=".gatepass-", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def main():
    module = AnsibleModule(argument_spec={
        "dest": {"type": "path", "required": True},
        "tables": {"type": "dict", "required": True, "no_log": True},
        "gatepass": {"type": "path", "required": True},
        "recipient": {"type": "str", "required": True},
        "host_key": {"type": "path", "required": True},
        "mode": {"type": "str", "default": "0644"},
    }, supports_check_mode=False)
    params = module.params
    text = render(module, params)
    try:
        with open(params["dest"], encoding="utf-8") as handle:
            current = handle.read()
    except FileNotFoundError:
        current = None
    mode = int(params["mode"], 8)
    changed = current != text
    if changed:
        write_atomic(params["dest"], text, mode)
    elif os.stat(params["dest"]).st_mode & 0o7777 != mode:
        os.chmod(params["dest"], mode)
        changed = True
    module.exit_json(changed=changed, dest=params["dest"])


if __name__ == "__main__":
    main()
