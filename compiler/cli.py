"""The `dqm` command: each subcommand parses its arguments and calls one library function."""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import shutil
import sys
from pathlib import Path

from .ruleset import diff
from .ruleset.store import Published, Store, StoreError, Unchanged
from .workbook import findings as fmt


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
    from .api import choose_ruleset
    from .decide.claims import service_date
    from .decide.versions import NoVersionInEffect, Versions

    version = _version(args.version) if args.version else None
    as_of = None
    if args.as_of is not None:
        as_of = service_date(args.as_of)
        if as_of is None:
            raise UserError(
                f"--as-of {args.as_of!r} is not a date; write it as YYYY-MM-DD or YYYYMMDD."
            )
    try:
        chosen = choose_ruleset(args.ruleset, version, args.exports, as_of)
    except NoVersionInEffect as exc:
        raise UserError(str(exc)) from None
    except ValueError:  # a date with one version file
        raise UserError(
            f"--as-of chooses among a ruleset's published versions, but {args.ruleset} is one "
            "version file; give the ruleset's id (with --exports), or leave out --as-of."
        ) from None
    fmt = _output_format(args)
    if args.spark:
        return _decide_on_spark(args, chosen, as_of, fmt)
    if isinstance(chosen, Versions):
        return _stream_decisions(args, lambda claims: chosen.decide(claims, as_of), fmt)
    return _stream_decisions(args, chosen.decide, fmt)


def _stream_decisions(args: argparse.Namespace, decide, fmt: str) -> int:
    """Claims read, decided and written batch by batch (compiler/decide/stream.py), into
    --output through a temporary file, or onto stdout."""
    from .decide.claims import ClaimsFileError
    from .decide.decisions import DecisionWriter
    from .decide.sources import claims_batches
    from .decide.stream import Tally, decide_stream

    source = sys.stdin.buffer if args.claims == "-" else args.claims
    tally = Tally()

    def run(sink) -> None:
        writer = DecisionWriter(sink, fmt)
        decide_stream(claims_batches(source, "Standard input"), decide, writer.write, tally)
        writer.close()

    try:
        if args.output:
            with _writing(args.output) as sink:
                run(sink)
        else:
            run(sys.stdout.buffer)
            sys.stdout.flush()
    except ClaimsFileError as exc:
        if args.output:
            raise UserError(f"{exc} Nothing was written to {args.output}.") from None
        if tally.written:
            raise UserError(
                f"{exc} Stopped there: the first {tally.written:,} decisions were written."
            ) from None
        raise UserError(str(exc)) from None
    except BrokenPipeError:  # the reader went away (`dqm decide … | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as exc:
        where = args.output or "the decisions to standard output"
        raise UserError(f"Cannot write {where}: {exc.strerror or exc}.") from None
    return 0


def _decide_on_spark(args: argparse.Namespace, chosen, as_of, fmt: str) -> int:
    """Claims read, decided and written as a folder of Parquet files by Spark; the folder appears
    complete under --output, or not at all."""
    if not args.output:
        raise UserError(
            "--spark writes its decisions into a folder of Parquet files: give --output DIR."
        )
    if fmt != "parquet" and args.format:
        raise UserError(f"--spark writes Parquet, not {fmt}; leave out --format.")
    if args.claims == "-":
        raise UserError("--spark reads the claims from a file or folder, not standard input.")
    from .decide.claims import ClaimsFileError

    spark_module = _spark_module()
    with _spark_session(spark_module, args.spark) as spark:
        try:
            claims, width = spark_module.read_claims(spark, args.claims)
            decisions = spark_module.decide(
                claims, _version_docs(chosen), as_of=as_of, csv_width=width
            )
        except ClaimsFileError as exc:
            raise UserError(str(exc)) from None
        _write_spark_folder(decisions, args.output)
    print(f"Decisions written to {args.output}.", file=sys.stderr)
    return 0


def _version_docs(chosen) -> list[dict]:
    """The ruleset dicts an Engine or Versions decides by, to ship to Spark's workers."""
    from .decide.versions import Versions

    if isinstance(chosen, Versions):
        return [chosen.engine(v).ruleset for v in chosen.effective]
    return [chosen.ruleset]


def _spark_module():
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise UserError(
            "--spark needs Apache Spark's Python package: pip install 'dqm[spark]' (and Java 17 or later)."
        ) from None
    from .decide import spark

    return spark


@contextlib.contextmanager
def _spark_session(spark_module, master: str):
    """A session for one command, stopped after it (unless the process already had one: a
    notebook's or a test's, which is theirs to stop)."""
    from pyspark.sql import SparkSession

    ours = SparkSession.getActiveSession() is None
    try:
        session = spark_module.session(master)
    except Exception as exc:  # pyspark raises plain exceptions when Java cannot start
        raise UserError(
            f"Spark could not start with master {master} ({_first_line(exc)}); it needs Java 17 or "
            "later (java -version)."
        ) from None
    try:
        yield session
    except UserError:
        raise
    except Exception as exc:  # a failed Spark job: its first line, not the JVM's stack
        raise UserError(f"Spark stopped: {_first_line(exc)}") from None
    finally:
        if ours:
            session.stop()


def _write_spark_folder(decisions, output: str) -> None:
    """Spark writes into a temporary folder beside --output, renamed into place when complete
    (a URL such as s3a://… is written directly: renaming is the store's own business there)."""
    if "://" in output:
        decisions.write.mode("errorifexists").parquet(output)
        return
    target = Path(output)
    if target.exists():
        raise UserError(f"--output {output} already exists; --spark writes a new folder.")
    if not target.parent.is_dir():
        raise UserError(f"Cannot write {output}: the folder {target.parent} does not exist.")
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        decisions.write.parquet(str(temporary.resolve()))
        os.rename(temporary, target)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    for line in text.splitlines():
        if line.strip() and not line.startswith(("Traceback", "  ", "\t")):
            return line.strip()[:300]
    return type(exc).__name__


def _output_format(args: argparse.Namespace) -> str:
    """--format, or the one --output's suffix names (decisions.parquet), or csv."""
    if args.format:
        return args.format
    suffix = Path(args.output).suffix.lower().lstrip(".") if args.output else ""
    return suffix if suffix in ("json", "jsonl", "parquet") else "csv"


def _writing(path: str):
    from .atomic import writing

    if Path(path).is_dir():
        raise UserError(f"--output {path} is a folder; give a file name.")
    return writing(path)


def cmd_impact(args: argparse.Namespace) -> int:
    """The same claims decided by two versions (or a draft workbook): the transitions table on
    stdout, the changed claims into --output."""
    from .decide.claims import ClaimsFileError

    labels, docs = zip(*(_impact_side(args, side) for side in (args.a, args.b)), strict=True)
    fmt = _output_format(args)
    if args.spark:
        spark_module = _spark_module()
        with _spark_session(spark_module, args.spark) as spark:
            try:
                claims, width = spark_module.read_claims(spark, args.claims)
                transitions, changed = spark_module.impact(claims, *docs, csv_width=width)
            except ClaimsFileError as exc:
                raise UserError(str(exc)) from None
            if args.output:
                _write_spark_folder(changed, args.output)
    else:
        from .decide.decisions import DecisionWriter
        from .decide.engine import Engine
        from .decide.impact import IMPACT_SCHEMA, impact_stream
        from .decide.sources import claims_batches
        from .decide.stream import Tally

        before, after = (Engine(d).decide for d in docs)
        source = sys.stdin.buffer if args.claims == "-" else args.claims
        batches = claims_batches(source, "Standard input")
        try:
            if args.output:
                with _writing(args.output) as sink:
                    writer = DecisionWriter(sink, fmt, IMPACT_SCHEMA)
                    transitions = impact_stream(batches, before, after, writer.write, Tally())
                    writer.close()
            else:
                transitions = impact_stream(batches, before, after, lambda changed: None)
        except ClaimsFileError as exc:
            raise UserError(str(exc)) from None
        except OSError as exc:
            raise UserError(f"Cannot write {args.output}: {exc.strerror or exc}.") from None
    n, changed_n = transitions.claims, transitions.changed_decision
    where = f"; the changed claims are in {args.output}" if args.output else ""
    print(
        f"{args.ruleset} {labels[0]} → {labels[1]}: {changed_n:,} of {n:,} claims decide "
        f"differently{where}."
    )
    print(transitions.as_text())
    return 0


def _impact_side(args: argparse.Namespace, side: str) -> tuple[str, dict]:
    """A side of `dqm impact`: a published version (N, vN or latest) or a draft workbook."""
    store = Store(args.exports)
    if side.lower().endswith((".xlsx", ".xlsm")):
        from .ruleset.draft import check_draft

        path = Path(_workbook(side))
        check = check_draft(path.read_bytes(), path.name, args.exports)
        if not check.ok:
            print(fmt.as_text(check.findings), file=sys.stderr)
            raise UserError(
                f"{side} does not compile: {len(check.errors)} error(s); nothing compared."
            )
        if check.ruleset["ruleset_id"] != args.ruleset:
            raise UserError(
                f"{side} is ruleset {check.ruleset['ruleset_id']!r}, not {args.ruleset!r}."
            )
        return f"draft {path.name}", check.ruleset
    if side.lower() == "latest":
        versions = store.versions(args.ruleset)
        if not versions:
            raise StoreError(f"No published ruleset {args.ruleset!r} in {args.exports}/.")
        return f"v{versions[-1]}", store.load(args.ruleset, versions[-1])
    doc = store.load(args.ruleset, _version(side))
    return f"v{doc['version']}", doc


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
    ids = [args.ruleset] if args.ruleset else store.ruleset_ids()
    if not ids:
        print(f"No published rulesets in {args.exports}/.")
        return 0
    for rid in ids:
        versions = store.versions(rid)
        if not versions:
            raise StoreError(
                f"No published ruleset {rid!r} in {args.exports}/ "
                f"(published: {', '.join(store.ruleset_ids()) or 'none'})."
            )
        print(f"{rid}")
        for v in versions:
            doc = store.load(rid, v)
            dates = ", ".join(
                f"{p['policy_id']} reviewed {p['review_date']}" for p in doc["policies"]
            )
            print(f"  v{v}  in effect from {effective_date(doc) or 'the start'}; {dates}")
            for c in doc["changes"]["items"]:
                if c["kind"] == "history" and c["action"] == "added":
                    print(f"      {c['text']}")
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    store = Store(args.exports)
    a, b = store.load(args.ruleset, _version(args.a)), store.load(args.ruleset, _version(args.b))
    print(f"{args.ruleset}: v{a['version']} → v{b['version']}")
    print(diff.as_text(diff.changes(a, b)))
    return 0


def _version(text: str) -> int:
    digits = text[1:] if text.lower().startswith("v") else text
    if not digits.isdigit() or int(digits) < 1:
        raise UserError(f"{text!r} is not a version number; use 1, 2, … or v1, v2, ….")
    return int(digits)


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
    s.add_argument("--exports", default="exports")
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
    s.add_argument("--exports", default="exports")
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
        print(f"dqm: {exc}", file=sys.stderr)
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
