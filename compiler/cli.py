"""The `dqm` command: each subcommand parses its arguments and calls one library function."""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import sys
from pathlib import Path

from .ruleset import diff
from .ruleset.store import Published, Store, StoreError, Unchanged
from .vocabulary import plain_text
from .workbook import findings as fmt

_VERSION = re.compile(r"[vV]?([0-9]{1,9})", re.ASCII)


class UserError(Exception):
    """A bad argument or unreadable file: one line on stderr, exit 2."""


def cmd_validate(args: argparse.Namespace) -> int:
    if args.annotate and Path(args.annotate).resolve() == Path(args.workbook).resolve():
        raise UserError(
            f"--annotate {args.annotate} is the workbook itself; dqm never writes the "
            "source workbook. Give another file name."
        )
    workbook = _workbook(args.workbook)
    from .workbook.validate import validate_file

    result = validate_file(workbook)
    if args.annotate:
        from .workbook.annotate import AnnotateError, annotate_file

        try:
            out = annotate_file(args.workbook, args.annotate, result.findings)
        except AnnotateError as exc:
            raise UserError(str(exc)) from None
        except OSError as exc:
            raise UserError(f"Cannot write {args.annotate}: {exc.strerror or exc}.") from None
        print(f"Findings marked in {out}.", file=sys.stderr if args.json else sys.stdout)
    if args.json:
        print(json.dumps(fmt.as_json(result.findings), ensure_ascii=False, indent=2))
    else:
        n_err, n_warn = len(fmt.errors(result.findings)), len(fmt.warnings(result.findings))
        if result.findings:
            print(fmt.as_text(result.findings))
        print(f"{args.workbook}: {n_err} error(s), {n_warn} warning(s).")
    return 0 if result.ok else 1


def cmd_compile(args: argparse.Namespace) -> int:
    workbook = _workbook(args.workbook)
    from .ruleset.compile import compile_workbook

    result = compile_workbook(workbook, args.exports)
    if result.findings:
        print(fmt.as_text(result.findings), file=sys.stdout if result.ok else sys.stderr)
    outcome = result.outcome
    if isinstance(outcome, Published):
        print(outcome.path)
        return 0
    if isinstance(outcome, Unchanged):
        print(f"Nothing changed: v{outcome.version} is current ({outcome.path}).")
        return 0
    n = len(fmt.errors(result.findings))
    print(f"Not published: {n} error(s) in {args.workbook}.", file=sys.stderr)
    return 1


def cmd_template(args: argparse.Namespace) -> int:
    from .workbook.template import write_workbook

    out = Path(args.out)
    if out.exists():
        raise UserError(
            f"{out} already exists; dqm template never overwrites a file. Give a new name."
        )
    if not out.parent.is_dir():
        raise UserError(f"Cannot write {out}: the folder {out.parent} does not exist.")
    print(write_workbook(out))
    return 0


def cmd_decide(args: argparse.Namespace) -> int:
    from .api import load_engine
    from .decide.claims import ClaimsFileError, read_claims_csv
    from .decide.decisions import write_decisions

    version = _version(args.version) if args.version else None
    engine = load_engine(args.ruleset, version, args.exports)
    try:
        claims = read_claims_csv(sys.stdin.buffer if args.claims == "-" else args.claims)
    except ClaimsFileError as exc:
        raise UserError(str(exc)) from None
    try:
        write_decisions(engine.decide(claims), sys.stdout.buffer, args.format)
        sys.stdout.flush()
    except BrokenPipeError:  # the reader went away (`dqm decide … | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return 0


def cmd_test(args: argparse.Namespace) -> int:
    workbook = _workbook(args.workbook)
    from .ruleset.testsheet import as_table, run_workbook

    run = run_workbook(workbook)
    if not run.validated.ok:
        print(fmt.as_text(run.validated.findings), file=sys.stderr)
        print(
            f"Tests not run: {len(fmt.errors(run.validated.findings))} error(s) in "
            f"{args.workbook}.",
            file=sys.stderr,
        )
        return 1
    if not run.results:
        print(f"{args.workbook} has no Tests rows.")
        return 0
    print(as_table(run.results))
    return 0 if run.ok else 1


def cmd_versions(args: argparse.Namespace) -> int:
    store = Store(args.exports)
    ids = [args.ruleset] if args.ruleset else store.ruleset_ids()
    if not ids:
        print(f"No published rulesets in {args.exports}/.")
        return 0
    for rid in ids:
        versions = store.versions(rid)
        if not versions:
            store.load(rid)  # says why: not a ruleset id, or none published under it
        store.read_index(rid)  # an index or a JDM graph changed since it was published is refused
        print(f"{rid}")
        for v in versions:
            doc = store.load(rid, v)
            dates = ", ".join(
                f"{p['policy_id']} reviewed {p['review_date']}" for p in doc["policies"]
            )
            print(f"  v{v}  {dates}")
            for c in doc["changes"]["items"]:
                if c["kind"] == "history" and c["action"] == "added":
                    print(f"      {plain_text(c['text'])}")  # History text, never escapes
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    store = Store(args.exports)
    a, b = store.load(args.ruleset, _version(args.a)), store.load(args.ruleset, _version(args.b))
    print(f"{args.ruleset}: v{a['version']} → v{b['version']}")
    print(diff.as_text(diff.changes(a, b)))
    return 0


def _version(text: str) -> int:
    # ASCII digits only: str.isdigit() and int() would read "３" (full-width) or "٣" as 3.
    m = _VERSION.fullmatch(text)
    if m is None or int(m.group(1)) < 1:
        raise UserError(f"{plain_text(text)!r} is not a version number; use 1, 2, … or v1, v2, ….")
    return int(m.group(1))


def _workbook(path: str) -> str:
    """An existing workbook file."""
    if not Path(path).is_file():
        raise UserError(f"{path}: no such file.")
    return path


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="dqm",
        description="Drug Quantity Management rules: workbook → versioned JSON → decisions.",
    )
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("validate", help="print every finding in a workbook")
    s.add_argument("workbook")
    s.add_argument("--json", action="store_true", help='print {"errors": [...], "warnings": [...]}')
    s.add_argument(
        "--annotate",
        metavar="OUT.xlsx",
        help="also write a copy with each bad cell marked and a Findings sheet",
    )
    s.set_defaults(func=cmd_validate)

    s = sub.add_parser(
        "template", help="write a blank workbook with every sheet, header, help and dropdown"
    )
    s.add_argument("out", metavar="OUT.xlsx")
    s.set_defaults(func=cmd_template)

    s = sub.add_parser("compile", help="validate, run Tests, publish a new version")
    s.add_argument("workbook")
    s.add_argument("--exports", default="exports", help="exports folder (default: exports)")
    s.set_defaults(func=cmd_compile)

    s = sub.add_parser(
        "decide", help="decide every claim in a CSV file against a published ruleset"
    )
    s.add_argument("claims", metavar="CLAIMS.csv", help="claims file (- for standard input)")
    s.add_argument(
        "--ruleset", required=True, help="ruleset id (latest version) or a version file's path"
    )
    s.add_argument("--version", help="version number of the ruleset id (default: the latest)")
    s.add_argument("--exports", default="exports")
    s.add_argument("--format", choices=["csv", "json"], default="csv")
    s.set_defaults(func=cmd_decide)

    s = sub.add_parser("test", help="decide a workbook's Tests rows and print a pass/fail table")
    s.add_argument("workbook")
    s.set_defaults(func=cmd_test)

    s = sub.add_parser("versions", help="the published versions with their history entries")
    s.add_argument("ruleset", nargs="?")
    s.add_argument("--exports", default="exports")
    s.set_defaults(func=cmd_versions)

    s = sub.add_parser("diff", help="what changed between versions A and B")
    s.add_argument("ruleset")
    s.add_argument("a")
    s.add_argument("b")
    s.add_argument("--exports", default="exports")
    s.set_defaults(func=cmd_diff)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except (UserError, StoreError) as exc:
        print(f"dqm: {plain_text(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader went away (`dqm versions | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def run() -> None:
    """The `dqm` console script. A command is a short-lived process that makes hundreds of
    thousands of small objects and exits: Python's cyclic garbage collector would walk them again
    and again (about 0.4 s of a 20,000-row compile, benchmarks/README.md) and free almost nothing
    that reference counting does not, so the command runs without it. pandera imports hypothesis
    (0.1 s) only to offer data generation, which no command uses."""
    gc.disable()
    sys.modules.setdefault("hypothesis", None)
    sys.exit(main())


if __name__ == "__main__":
    run()
