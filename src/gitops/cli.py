"""`gitops <command>`: the model-agnostic CI commands, one entry point."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        print("usage: gitops report [--base REV] [--root DIR]")
        return 0 if args else 2
    command, rest = args[0], args[1:]
    if command == "report":
        from gitops.review import report

        return report.main(rest)
    print(f"gitops: unknown command '{command}' (expected: report)", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
