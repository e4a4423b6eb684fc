"""Large generated configs, shared by tests (benchmarks/bench_get.py builds the same shape with ``git_toml``)."""

from __future__ import annotations

from pathlib import Path


def write_git_accounts(path: Path, accounts: int, per_table: int = 10) -> tuple[str, str]:
    """``accounts`` git accounts in [[git_provider]] tables of ``per_table``: host-P.example.com holds
    user-P-A with token-P-A. Returns (last host, its first user)."""
    tables = max(1, accounts // per_table)
    parts = []
    for p in range(tables):
        users = ", ".join(f'{{ username = "user-{p}-{a}", token = "token-{p}-{a}" }}' for a in range(per_table))
        parts.append(f'[[git_provider]]\ndomain = "host-{p}.example.com"\naccounts = [{users}]\n')
    path.write_text("".join(parts))
    path.chmod(0o600)  # it holds tokens: gatepass refuses a token file others can read
    return f"host-{tables - 1}.example.com", f"user-{tables - 1}-0"
