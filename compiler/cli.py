"""The `dqm` command: each subcommand parses its arguments and calls one library function."""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
from pathlib import Path

from .cli_parser import CONFORMANCE_EXPORTS, DEFAULT_EXPORTS, parser
from .errors import DqmError, UsageError
from .vocabulary import plain_text
from .workbook import findings as fmt


def cmd_validate(args: argparse.Namespace) -> int:
    if args.annotate and Path(args.annotate).resolve() == Path(args.workbook).resolve():
        raise UsageError(
            f"--annotate {args.annotate} is the workbook itself; dqm never writes the "
            "source workbook. Give another file name."
        )
    from .api import workbook_path
    from .ruleset.check import check_workbook, first_version_note

    workbook = workbook_path(args.workbook)
    result = check_workbook(workbook, args.exports)
    if args.annotate:
        from .workbook.annotate import annotate_file

        try:
            out = annotate_file(args.workbook, args.annotate, result.findings)
        except OSError as exc:
            raise UsageError(f"Cannot write {args.annotate}: {exc.strerror or exc}.") from None
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
    if result.takes_effect:
        print(plain_text(result.takes_effect), file=sys.stderr)
    return 0 if result.ok else 1


def cmd_compile(args: argparse.Namespace) -> int:
    from .api import workbook_path
    from .ruleset.check import first_version_note
    from .ruleset.compile import compile_workbook
    from .ruleset.store import Published, Unchanged

    workbook = workbook_path(args.workbook)
    named, args.exports = args.exports is not None, args.exports or DEFAULT_EXPORTS
    key = None
    if args.sign:
        from .ruleset.signing import private_key

        key = private_key(args.sign)
    result = compile_workbook(workbook, args.exports, create_exports=named, sign=key)
    for note in result.repaired:
        print(f"dqm: {plain_text(note)}", file=sys.stderr)
    if result.findings:
        print(fmt.as_text(result.findings), file=sys.stdout if result.ok else sys.stderr)
    outcome = result.outcome
    if isinstance(outcome, Published):
        print(outcome.path)
        if outcome.version == 1:
            print(first_version_note(outcome.doc["ruleset_id"], args.exports), file=sys.stderr)
        if result.takes_effect:
            print(plain_text(result.takes_effect), file=sys.stderr)
        return 0
    if isinstance(outcome, Unchanged):
        print(f"Nothing changed: v{outcome.version} is current ({outcome.path}).")
        if result.takes_effect:
            print(plain_text(result.takes_effect), file=sys.stderr)
        return 0
    n = len(fmt.errors(result.findings))
    print(f"Not published: {n} error(s) in {args.workbook}.", file=sys.stderr)
    return 1


def cmd_template(args: argparse.Namespace) -> int:
    from .workbook.template import write_workbook

    out = Path(args.out)
    if out.suffix.lower() != ".xlsx":
        raise UsageError(
            f"{out}: a template is an Excel workbook; give a name ending in .xlsx, such as "
            f"{out.with_suffix('.xlsx').name}."
        )
    exists = f"{out} already exists; dqm template never overwrites a file. Give a new name."
    if out.exists() or out.is_symlink():
        raise UsageError(exists)
    try:
        print(write_workbook(out))
    except FileExistsError:  # made meanwhile
        raise UsageError(exists) from None
    return 0


def cmd_decide(args: argparse.Namespace) -> int:
    from . import memory
    from .api import decide_file
    from .decide.grammar import service_date
    from .ruleset.store import version_number

    memory.few_arenas()  # this process's own: its threads share two arenas

    as_of = None
    if args.as_of is not None:
        as_of = service_date(args.as_of)
        if as_of is None:
            raise UsageError(
                f"--as-of {args.as_of!r} is not a date; write it as YYYY-MM-DD or YYYYMMDD."
            )
    version = version_number(args.version) if args.version else None
    decide_file(
        _claims(args.claims, args.output),
        args.ruleset,
        version=version,
        as_of=as_of,
        exports=_store(args),
        output=args.output,
        fmt=args.format,
        spark=args.spark,
        **_reading(args),
    )
    if args.spark:
        print(plain_text(f"Decisions written to {args.output}."), file=sys.stderr)
    return 0


def cmd_impact(args: argparse.Namespace) -> int:
    from . import memory
    from .api import impact_file

    memory.few_arenas()

    claims = _claims(args.claims, None, "the comparison")  # printed whatever --output says
    reading = _reading(args)
    (label_a, doc_a), (label_b, doc_b) = _sides(args)
    transitions = impact_file(
        claims, doc_a, doc_b, output=args.output, fmt=args.format, spark=args.spark, **reading
    )
    n, changed_n = transitions.claims, transitions.changed_decision
    where = f"; the changed claims are in {args.output}" if args.output else ""
    print(  # names given on the command line: never a terminal escape (plain_text)
        plain_text(
            f"{args.ruleset} {_dated(label_a, doc_a)} → {_dated(label_b, doc_b)}: {changed_n:,} "
            f"of {n:,} claims decide differently{where}."
        )
    )
    print("\n".join(map(plain_text, transitions.as_text().splitlines())))
    return 0


def _store(args: argparse.Namespace):
    """The exports store to read, trusting only versions signed with --public-key when given."""
    from .ruleset.store import Store

    trust = None
    if args.public_key:
        from .ruleset.signing import public_key

        trust = public_key(args.public_key)
    return Store(args.exports, trust)


def cmd_keygen(args: argparse.Namespace) -> int:
    from .ruleset.signing import new_key

    public = new_key(args.out)
    print(f"{args.out}: the private key; keep it outside the repository, readable by you alone.")
    print(f"{public}: the public key; give it to every reader (--public-key).")
    return 0


def _sides(args: argparse.Namespace) -> list[tuple[str, dict]]:
    """Sides A and B of diff and impact, each a published version or a draft workbook (whose
    findings are printed when it does not compile)."""
    from .api import DraftRefused, impact_side

    try:
        return [impact_side(args.ruleset, side, _store(args)) for side in (args.a, args.b)]
    except DraftRefused as exc:
        print(fmt.as_text(exc.findings), file=sys.stderr)
        raise


def _claims(path: str, output: str | None, what: str = "the decisions"):
    """The claims argument: a path, or - for CSV on standard input; and standard output checked
    open when `what` is written there."""
    if path == "-" and sys.stdin is None:  # started with standard input closed (`<&-`)
        raise UsageError(
            "Standard input is closed, so there are no claims to read from it; give the claims "
            "file's path, or pipe the claims into dqm decide -."
        )
    if output is None and sys.stdout is None:  # started with standard output closed (`>&-`)
        raise UsageError(
            f"Standard output is closed, so {what} cannot be written there; "
            + ("give --output PATH, or " if what == "the decisions" else "")
            + "redirect standard output to a file."
        )
    return sys.stdin.buffer if path == "-" else path


def _reading(args: argparse.Namespace) -> dict:
    """--column THEIRS=OURS (repeated) and --encoding, as decide_file and impact_file take them."""
    columns: dict[str, str] = {}
    for given in args.column:
        theirs, eq, ours = given.partition("=")
        if not eq or not theirs.strip() or not ours.strip():
            raise UsageError(
                f"--column {given}: write the file's column name, =, and the claims column to "
                "read it as (--column fill_date=date_of_service)."
            )
        if theirs.strip() in columns:
            raise UsageError(f"--column names {theirs.strip()} twice; give it once.")
        columns[theirs.strip()] = ours.strip()
    notes = (
        (lambda note: print(f"dqm: {plain_text(note)}", file=sys.stderr)) if sys.stderr else None
    )
    return {
        "columns": columns,
        "encoding": args.encoding,
        "notes": notes,
        "history": args.history,
    }


def cmd_test(args: argparse.Namespace) -> int:
    from .api import workbook_path
    from .ruleset.testsheet import as_table, run_workbook

    workbook = workbook_path(args.workbook)

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
    from .errors import StoreError, WriteError
    from .ruleset import walk

    store = _store(args)
    store.require_folder()
    ids = [args.ruleset] if args.ruleset else store.ruleset_ids()
    if not ids:
        print(f"No published rulesets in {args.exports}/.")
        return 0
    for rid in ids:
        try:
            for note in store.repair(rid):
                print(f"dqm: {plain_text(note)}", file=sys.stderr)
        except WriteError:  # a store dqm may only read: what is wrong is said below
            pass
        listing = store.listing(rid)
        docs = listing.require()
        problem = listing.index_problem()  # an index or a JDM graph changed since publishing
        if problem is not None:
            raise StoreError(problem)
        print(f"{rid}")
        for v, doc in docs.items():
            dates = ", ".join(f"{pid} {words}" for pid, words in walk.review_words(doc).items())
            print(f"  v{v}  in effect from {effective_date(doc) or 'the start'}; {dates}")
            for c in doc["changes"]["items"]:
                if c["kind"] == "history" and c["action"] == "added":
                    print(f"      {plain_text(c['text'])}")  # History text, never escapes
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    from .ruleset import diff

    (label_a, a), (label_b, b) = _sides(args)
    print(plain_text(f"{args.ruleset}: {_dated(label_a, a)} → {_dated(label_b, b)}"))
    print(diff.as_text(diff.changes(a, b)))
    return 0


def _dated(label: str, doc: dict) -> str:
    """`v4 (in effect from 2025-12-08)`: a side of diff or impact with when it takes effect."""
    from .effective import effective_date

    return f"{label} (in effect from {effective_date(doc) or 'the start'})"


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
        raise UsageError(str(exc)) from None
    return 0


COMMANDS = {
    "validate": cmd_validate,
    "template": cmd_template,
    "compile": cmd_compile,
    "decide": cmd_decide,
    "impact": cmd_impact,
    "test": cmd_test,
    "keygen": cmd_keygen,
    "versions": cmd_versions,
    "diff": cmd_diff,
    "conformance": cmd_conformance,
}


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except DqmError as exc:
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
