"""The `dqm` command: each subcommand parses its arguments and calls one library function."""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import sys
from pathlib import Path

from .atomic import WriteError
from .ruleset import diff, walk
from .ruleset.store import Published, Store, StoreError, Unchanged
from .vocabulary import plain_text
from .workbook import findings as fmt

DEFAULT_EXPORTS = "exports"
CONFORMANCE_EXPORTS = (DEFAULT_EXPORTS, "conformance/exports")  # the bundled rulesets, and a demo
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
    from .ruleset.check import check_workbook, first_version_note

    result = check_workbook(workbook, args.exports)
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
    if result.first_version:
        print(first_version_note(result.ruleset_id, args.exports), file=sys.stderr)
    return 0 if result.ok else 1


def cmd_compile(args: argparse.Namespace) -> int:
    workbook = _workbook(args.workbook)
    from .ruleset.check import first_version_note
    from .ruleset.compile import compile_workbook

    result = compile_workbook(workbook, args.exports)
    if result.findings:
        print(fmt.as_text(result.findings), file=sys.stdout if result.ok else sys.stderr)
    outcome = result.outcome
    if isinstance(outcome, Published):
        print(outcome.path)
        if outcome.version == 1:
            print(first_version_note(outcome.doc["ruleset_id"], args.exports), file=sys.stderr)
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
    if out.suffix.lower() != ".xlsx":
        raise UserError(
            f"{out}: a template is an Excel workbook; give a name ending in .xlsx, such as "
            f"{out.with_suffix('.xlsx').name}."
        )
    exists = f"{out} already exists; dqm template never overwrites a file. Give a new name."
    if out.exists() or out.is_symlink():
        raise UserError(exists)
    try:
        print(write_workbook(out))
    except FileExistsError:  # made meanwhile
        raise UserError(exists) from None
    return 0


def cmd_decide(args: argparse.Namespace) -> int:
    from .cli_claims import decide

    return decide(args)


def cmd_impact(args: argparse.Namespace) -> int:
    from .cli_claims import impact

    return impact(args)


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
    from .effective import effective_date

    store = Store(args.exports)
    store.require_folder()
    ids = [args.ruleset] if args.ruleset else store.ruleset_ids()
    if not ids:
        print(f"No published rulesets in {args.exports}/.")
        return 0
    for rid in ids:
        versions = store.versions(rid)
        if not versions:
            store.load(rid)  # says why: not a ruleset id, or none published under it
        docs = {v: store.load(rid, v) for v in versions}
        store.read_index(rid, docs)  # an index or a JDM graph changed since publishing: refused
        print(f"{rid}")
        for v, doc in docs.items():
            dates = ", ".join(f"{pid} {words}" for pid, words in walk.review_words(doc).items())
            print(f"  v{v}  in effect from {effective_date(doc) or 'the start'}; {dates}")
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


def cmd_conformance(args: argparse.Namespace) -> int:
    from .conformance import ConformanceError, check, write

    exports = args.exports or list(CONFORMANCE_EXPORTS)
    try:
        if args.check:
            stale = check(exports, args.out)
            if stale:
                print(
                    f"dqm: {plain_text(stale)}; run dqm conformance to write them.", file=sys.stderr
                )
                return 1
            print(f"The conformance vectors in {args.out}/ are current.")
            return 0
        for path in write(exports, args.out):
            print(path)
    except ConformanceError as exc:
        raise UserError(str(exc)) from None
    return 0


def _version(text: str) -> int:
    # ASCII digits only: str.isdigit() and int() would read "３" (full-width) or "٣" as 3.
    m = _VERSION.fullmatch(text)
    if m is None or int(m.group(1)) < 1:
        raise UserError(f"{plain_text(text)!r} is not a version number; use 1, 2, … or v1, v2, ….")
    return int(m.group(1))


def _workbook(path: str) -> str:
    """An existing workbook file."""
    if Path(path).is_dir():
        raise UserError(f"{path} is a folder, not a workbook; give the .xlsx file's path.")
    if not Path(path).is_file():
        raise UserError(f"{path}: no such file.")
    return path


def _same_file(a: Path, b: Path) -> bool:
    return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))


def _exports(s: argparse.ArgumentParser, reads: str) -> None:
    s.add_argument(
        "--exports",
        default=DEFAULT_EXPORTS,
        metavar="DIR",
        help=f"the exports folder {reads} (default: {DEFAULT_EXPORTS})",
    )


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="dqm",
        description="Drug Quantity Management rules: workbook → versioned JSON → decisions.",
    )
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("validate", help="print every finding that compile would")
    s.add_argument("workbook")
    _exports(s, "whose published versions the History and a new ruleset are checked against")
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
    _exports(s, "to publish into")
    s.set_defaults(func=cmd_compile)

    s = sub.add_parser(
        "decide", help="decide every claim of a CSV or Parquet file against a published ruleset"
    )
    s.add_argument(
        "claims",
        metavar="CLAIMS",
        help="a CSV or Parquet file, a folder of Parquet files, or - for CSV on standard input",
    )
    s.add_argument(
        "--ruleset",
        required=True,
        help="ruleset id (each claim by the version in effect on its date_of_service; the "
        "latest for a claim without one) or a version file's path (that version decides all)",
    )
    which = s.add_mutually_exclusive_group()
    which.add_argument("--version", help="decide every claim by this version of the ruleset id")
    which.add_argument(
        "--as-of",
        metavar="DATE",
        help="decide every claim by the version in effect on DATE (YYYY-MM-DD or YYYYMMDD)",
    )
    _exports(s, "to read the ruleset from")
    s.add_argument(
        "--format",
        choices=["csv", "json", "jsonl", "parquet"],
        help="csv (default), json (one list), jsonl (one object per line) or parquet; by "
        "default the one --output's suffix names",
    )
    s.add_argument(
        "--output",
        metavar="PATH",
        help="write the decisions into PATH (complete, or not at all) instead of standard output; "
        "with --spark, a new folder of Parquet files",
    )
    s.add_argument(
        "--spark",
        metavar="MASTER",
        help="decide on Apache Spark: local[N] or a cluster's URL (needs the spark extra)",
    )
    s.set_defaults(func=cmd_decide)

    s = sub.add_parser(
        "impact",
        help="the same claims decided by versions A and B: decision transitions, approved totals "
        "and the changed claims",
    )
    s.add_argument("ruleset", help="ruleset id")
    s.add_argument("a", metavar="A", help="version before: N, vN or latest")
    s.add_argument(
        "b", metavar="B", help="version after: N, vN, latest or a draft workbook (.xlsx)"
    )
    s.add_argument("claims", metavar="CLAIMS", help="as for dqm decide")
    _exports(s, "to read the ruleset from")
    s.add_argument(
        "--output",
        metavar="PATH",
        help="write the changed claims into PATH (csv, json, jsonl or parquet by its suffix); "
        "with --spark, a new folder of Parquet files",
    )
    s.add_argument("--format", choices=["csv", "json", "jsonl", "parquet"], help=argparse.SUPPRESS)
    s.add_argument("--spark", metavar="MASTER", help="compare on Apache Spark (as dqm decide)")
    s.set_defaults(func=cmd_impact)

    s = sub.add_parser("test", help="decide a workbook's Tests rows and print a pass/fail table")
    s.add_argument("workbook")
    s.set_defaults(func=cmd_test)

    s = sub.add_parser("versions", help="the published versions with their history entries")
    s.add_argument("ruleset", nargs="?")
    _exports(s, "to read")
    s.set_defaults(func=cmd_versions)

    s = sub.add_parser("diff", help="what changed between versions A and B")
    s.add_argument("ruleset")
    s.add_argument("a")
    s.add_argument("b")
    _exports(s, "to read")
    s.set_defaults(func=cmd_diff)

    s = sub.add_parser(
        "conformance",
        help="write the conformance vectors (inputs and dqm's exact outputs) for consumers",
    )
    s.add_argument(
        "--exports",
        action="append",
        metavar="DIR",
        help="an exports folder whose every published version gets vectors; may be given more "
        f"than once (default: {' and '.join(CONFORMANCE_EXPORTS)})",
    )
    s.add_argument(
        "--out",
        default="conformance",
        metavar="DIR",
        help="the vectors' folder (default: conformance)",
    )
    s.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 naming the first difference when the vectors in DIR are stale",
    )
    s.set_defaults(func=cmd_conformance)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except (UserError, StoreError, WriteError) as exc:
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
