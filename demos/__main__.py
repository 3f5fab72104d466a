"""Command line: `python -m demos list`, `python -m demos run NAME --set K=V --format F`, and
`python -m demos search NAME [--preset P | --module FILE] [--runs N] [--seed S] [--shard K/N]`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

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
    run.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set a parameter (repeatable)",
    )
    run.add_argument("--format", choices=("json", "svg", "text"), default="text")
    find = sub.add_parser(
        "search",
        help="search seeds and fault schedules for a failing check (exit 1: found, 0: none)",
    )
    find.add_argument("name")
    source = find.add_mutually_exclusive_group()
    source.add_argument("--module", metavar="FILE", help="an edited copy of the demo's module")
    source.add_argument(
        "--preset",
        metavar="NAME",
        help="one of the demo's presets (a protocol rule broken on purpose)",
    )
    find.add_argument("--runs", type=int, default=1000, help="cases to try (default 1000)")
    find.add_argument("--seed", type=int, default=1, help="the search's seed (default 1)")
    find.add_argument(
        "--shard",
        default="0/1",
        metavar="K/N",
        help="run cases K, K+N, K+2N, ... so N machines split one search",
    )
    find.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a parameter every case keeps (repeatable)",
    )
    find.add_argument("--format", choices=("json", "text"), default="text")
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
    if args.command == "search":
        return _search(args, params)
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


def _search(args: argparse.Namespace, params: dict[str, str]) -> int:
    from . import edit, presets, search

    try:
        k, sep, n = args.shard.partition("/")
        if not sep or not k.isdigit() or not n.isdigit():
            raise DemoError(f"shard: {args.shard!r} is not K/N (as in 0/4)")
        protocol = None
        base: dict[str, object] = {}
        if args.preset:
            preset = presets.get_preset(args.name, args.preset)
            protocol = edit.load_protocol(args.name, preset.source())
            base = dict(preset.base)
        elif args.module:
            try:
                text = Path(args.module).read_text(encoding="utf-8")
            except OSError as err:
                raise DemoError(f"--module: cannot read {args.module}: {err.strerror}") from None
            protocol = edit.load_protocol(args.name, text)
        base.update(params)
        found, runs = None, 0
        for step in search.search(
            args.name,
            base=base,
            runs=args.runs,
            seed=args.seed,
            shard=(int(k), int(n)),
            protocol=protocol,
        ):
            if isinstance(step, search.Progress):
                runs += step.phase == "search"
                if args.format == "text" and step.phase == "search" and runs % 200 == 0:
                    print(f"demos: {runs} runs, nothing yet", file=sys.stderr)
            else:
                found = step
    except DemoError as err:
        print(f"demos: {err}", file=sys.stderr)
        return 2
    if args.format == "json":
        print(
            json.dumps(
                {
                    "demo": args.name,
                    "runs": runs,
                    "found": found is not None,
                    "counterexample": found.to_json() if found else None,
                },
                indent=1,
            )
        )
    elif found is None:
        print(f"{args.name}: no counterexample in {runs} runs")
    else:
        sets = " ".join(f"--set {key}={value!r}" for key, value in found.params.items())
        print(
            f"{args.name}: {found.check} fails after {found.runs} runs "
            f"(shrunk in {found.shrink_runs} more): {found.detail}\n"
            f"  reproduce: python -m demos run {args.name} {sets}"
        )
    return 1 if found else 0


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except BrokenPipeError:  # `python -m demos run raft --format json | head` is fine
        sys.stderr.close()
        raise SystemExit(0) from None
