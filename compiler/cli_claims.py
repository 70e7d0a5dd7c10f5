"""The `dqm decide` and `dqm impact` commands: claims streamed from a file of any size (or handed
to Spark), decided, and written into --output through a temporary file, or onto stdout."""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import shutil
import sys
from pathlib import Path

from .cli import UserError, _same_file, _version, _workbook
from .ruleset.store import Store, StoreError
from .vocabulary import plain_text
from .workbook import findings


def decide(args: argparse.Namespace) -> int:
    """`dqm decide`: the version(s) chosen, then the claims streamed, or handed to Spark."""
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
    if args.output and args.claims != "-" and _same_file(Path(args.output), Path(args.claims)):
        raise UserError(
            f"--output {args.output} is the claims file itself; give another file name for the "
            "decisions."
        )
    fmt = _output_format(args)
    if args.spark:
        return _decide_on_spark(args, chosen, as_of, fmt)
    if isinstance(chosen, Versions):
        return _stream_decisions(args, lambda claims: chosen.decide(claims, as_of), fmt)
    return _stream_decisions(args, chosen.decide, fmt)


# JSON is written about three times slower than CSV, so its batches wait longer in the queues:
# smaller ones keep JSON's peak memory under CSV's (benchmarks/README.md, issue 11).
JSON_BLOCK_BYTES = 2 << 20


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
        block = JSON_BLOCK_BYTES if fmt in ("json", "jsonl") else None
        batches = claims_batches(source, "Standard input", block)
        # JSON is encoded as it is written: batches made ahead would wait in memory.
        encode = writer.encode if fmt in ("csv", "parquet") else None
        decide_stream(batches, decide, writer.write_encoded, tally, encode=encode)
        writer.close()

    try:
        if args.output:
            with _writing(args.output) as sink:
                run(sink)
        else:
            with _standard_output() as sink:
                run(sink)
    except ClaimsFileError as exc:
        if args.output:
            raise UserError(f"{exc} Nothing was written to {args.output}.") from None
        if tally.written:
            raise UserError(
                f"{exc} Stopped there: the first {tally.written:,} decisions were written."
            ) from None
        raise UserError(str(exc)) from None
    except BrokenPipeError:  # the reader went away (`dqm decide … | head`): stop quietly
        return 1
    except OSError as exc:
        where = args.output or "the decisions to standard output"
        raise UserError(f"Cannot write {where}: {exc.strerror or exc}.") from None
    return 0


@contextlib.contextmanager
def _standard_output():
    """Standard output as bytes, each write taken whole. Under PYTHONUNBUFFERED (set in many
    containers) sys.stdout.buffer is the raw file, whose write may take only part of what it is
    given (a full disk, a reader gone) and say so only in its return value, which Arrow's writer
    does not read: buffered, every write is whole or raises. When writing fails, standard output
    becomes /dev/null, so that what is still buffered is not written again as Python exits."""
    sys.stdout.flush()
    raw = isinstance(sys.stdout.buffer, io.RawIOBase)
    sink = io.BufferedWriter(sys.stdout.buffer) if raw else sys.stdout.buffer
    try:
        yield sink
        sink.flush()
    except OSError:  # BrokenPipeError too
        _discard_standard_output()
        raise
    finally:
        if raw:
            try:
                sink.detach()  # flushes first
            except OSError:
                _discard_standard_output()
                sink.detach()


def _discard_standard_output() -> None:
    with contextlib.suppress(OSError, ValueError):  # a stream without a file (tests)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


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
    print(plain_text(f"Decisions written to {args.output}."), file=sys.stderr)
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


def impact(args: argparse.Namespace) -> int:
    """`dqm impact`: the same claims decided by two versions (or a draft workbook): the
    transitions table on stdout, the changed claims into --output."""
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
    print(  # names given on the command line: never a terminal escape (plain_text)
        plain_text(
            f"{args.ruleset} {labels[0]} → {labels[1]}: {changed_n:,} of {n:,} claims decide "
            f"differently{where}."
        )
    )
    print("\n".join(map(plain_text, transitions.as_text().splitlines())))
    return 0


def _impact_side(args: argparse.Namespace, side: str) -> tuple[str, dict]:
    """A side of `dqm impact`: a published version (N, vN or latest) or a draft workbook."""
    store = Store(args.exports)
    if side.lower().endswith((".xlsx", ".xlsm")):
        from .ruleset.draft import check_draft

        path = Path(_workbook(side))
        check = check_draft(path.read_bytes(), path.name, args.exports)
        if not check.ok:
            print(findings.as_text(check.findings), file=sys.stderr)
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
