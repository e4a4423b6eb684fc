"""Every ``GATEPASS_*`` environment variable gatepass reads, named once (as Git Credential Manager's
Constants.cs names its own): the README's table is this table (tests/unit/test_envvars.py compares
them, and fails on a ``GATEPASS_`` name in src that is not here). The modules that read one keep its
name as a literal, so a warm ``get`` imports nothing more for it.
"""

# name -> what it does, as the README's "Environment variables" table says it
VARIABLES = {
    "GATEPASS_CONFIG": "replaces the global, host and user layers with exactly these files (`a.toml:b.toml`, "
                       "the last wins); empty or `/dev/null`: no config file at all",
    "GATEPASS_GLOBAL_CONFIG": "the global layer's file (default `/etc/gatepass/global.toml`); `/dev/null`: none",
    "GATEPASS_HOST_CONFIG": "the host layer's file (default `/etc/gatepass/host.toml`, drop-ins in the same name "
                            "with `.toml` replaced by `.d`); `/dev/null`: none",
    "GATEPASS_USER_CONFIG": "the user layer's file (default `$XDG_CONFIG_HOME/gatepass/config.toml`); "
                            "`/dev/null`: none",
    "GATEPASS_STORE_BACKEND": "the store's backend: `auto`, `secret-service`, `encrypted-file` or "
                              "`keyring:<module.Class>` (beats `[store] backend`)",
    "GATEPASS_STORE_PASSPHRASE": "the passphrase that keys the encrypted-file store (scrypt), instead of the "
                                 "machine key",
    "GATEPASS_HOST_KEY": "the host identity that opens sealed values (an age identity or an unencrypted OpenSSH "
                         "key); when set, the only one tried",
    "GATEPASS_ACCOUNT": "only this username answers, in both helpers (`gatepass exec --account` sets it)",
    "GATEPASS_PRESET": "`github-actions` or `gitlab-ci` forces a CI preset, `none` turns detection off",
    "GATEPASS_TRACE": "an absolute file: one JSON line per helper call appended to it; `1`/`2`/`true`: "
                      "to stderr; `0`/`false`: off",
    "GATEPASS_DEBUG": "`1`: a traceback instead of the one-line internal error (the helpers and `gatepass`)",
    "GATEPASS_COMMAND_TIMEOUT": "seconds a `token_command` may run (default 10)",
    "GATEPASS_STDIN_TIMEOUT": "seconds a helper waits for its whole request on stdin (default 10)",
}


def markdown() -> str:
    """The README's table."""
    rows = [f"| `{name}` | {what} |" for name, what in VARIABLES.items()]
    return "\n".join(["| variable | what it does |", "|---|---|", *rows]) + "\n"
