"""Command line: `python -m demos list` and `python -m demos run NAME --set K=V --format F`."""

from __future__ import annotations

import argparse
import sys

from . import registry
from .errors import DemoError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, status 2, no usage dump
        print(f"demos: {message}", file=sys.stderr)
        raise SystemExit(2)


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(prog="python -m demos", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="print one demo name per line")
    run = sub.add_parser("run", help="run a demo and print its trace, SVG or summary")
    run.add_argument("name")
    run.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                     help="set a parameter (repeatable)")
    run.add_argument("--format", choices=("json", "svg", "text"), default="text")
    args = parser.parse_args(argv)

    if args.command == "list":
        print("\n".join(registry.names()))
        return 0
    params: dict[str, str] = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            print(f"demos: --set needs KEY=VALUE, got {item!r}", file=sys.stderr)
            return 2
        params[key.strip()] = value
    try:
        result = registry.run(args.name, params)
    except DemoError as err:
        print(f"demos: {err}", file=sys.stderr)
        return 2
    if args.format == "json":
        print(result.to_json(indent=1))
    elif args.format == "svg":
        print(result.svg)
    else:
        print(result.text())
    return 0


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except BrokenPipeError:  # `python -m demos run raft --format json | head` is fine
        sys.stderr.close()
        raise SystemExit(0) from None
