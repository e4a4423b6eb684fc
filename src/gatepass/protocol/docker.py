"""docker-credential-gatepass: the docker credential helper protocol (docker/docker-credential-helpers).

Not implemented in this release yet: every action answers with a protocol error on stdout and
exit 1, as docker's own helpers do for an action they cannot serve.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("version", "-v", "--version"):
        from gatepass import __version__

        sys.stdout.write(f"docker-credential-gatepass (gatepass) {__version__}\n")
        return 0
    sys.stdout.write("docker-credential-gatepass is not implemented yet\n")
    return 1


if __name__ == "__main__":
    sys.exit(main())
