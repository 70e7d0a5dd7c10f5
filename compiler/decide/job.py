"""A decision job: claims of any size in (a file, a folder of Parquet files, or a stream), decided
by one version or by each claim's version in effect, streamed or handed to Spark, and the output
written whole (output.py). `dqm decide` and `dqm impact` are these two functions; so is any caller
that decides files rather than frames."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from ..errors import DqmError, UsageError
from . import csvtext
from . import output as out
from .claims import ClaimsFileError, HistoryColumns, ignored_columns
from .engine import Engine
from .versions import Versions, run_pass

if TYPE_CHECKING:  # impact.py imports pandas
    from .impact import Transitions

Claims = str | Path | BinaryIO  # a path, or a binary stream of CSV (standard input)
STANDARD_INPUT = "Standard input"

# JSON is written about three times slower than CSV, so its batches wait longer in the queues:
# smaller ones keep JSON's peak memory under CSV's (benchmarks/README.md).
JSON_BLOCK_BYTES = 2 << 20


@dataclass
class Reading:
    """How a job reads its claims: `columns` maps a file's own column names onto the contract's
    (`{"qty": "quantity"}`), `encoding` is a CSV's (UTF-8 by default), and `notes` hears each
    note on the claims read (columns the contract does not know; the one version that decided
    every claim of a file without dates), a line each, once."""

    columns: dict[str, str] | None = None
    encoding: str | None = None
    notes: Callable[[str], None] | None = None
    versions: Versions | None = None  # what decides by date, for the note on a file without dates
    said: set[str] = field(default_factory=set)
    pending: list[str] = field(default_factory=list)

    def __post_init__(self):
        self.columns = csvtext.column_mapping(self.columns)
        self.encoding = csvtext.text_encoding(self.encoding)

    def header(self, name: str, headers: list[str], keys: list[str]) -> None:
        """A file's columns, read: what the notes say of them."""
        self._say(csvtext.ignored_columns_note(ignored_columns(headers, keys)))
        versions = self.versions
        if versions is not None and len(versions.effective) > 1 and "date_of_service" not in keys:
            latest = versions.latest
            self._say(
                "the claims have no date_of_service column, so every claim was decided by the "
                f"latest version, v{latest} (in effect from "
                f"{versions.effective[latest].isoformat()})."
            )

    def _say(self, note: str | None) -> None:
        """Noted now, said once the claims were read: a file refused part-way says only why."""
        if note and note not in self.said:
            self.said.add(note)
            self.pending.append(note)

    def said_all(self) -> None:
        if self.notes is not None:
            for note in self.pending:
                self.notes(note)
        self.pending.clear()

    def read(self) -> dict:
        """The keyword arguments of sources.claims_batches."""
        return {"columns": self.columns, "encoding": self.encoding, "on_header": self.header}


def decide_file(claims: Claims, chosen: Engine | Versions, **options) -> int | None:
    """Decide every claim of `claims` by `chosen` (each by its date of service, or as of `as_of`,
    when it is a ruleset's versions) into `output` (None: standard output), in `fmt` (by default
    the one the output's suffix names), reading the claims as `reading` says. On Spark (`spark`:
    its master), a new folder of Parquet files. Returns the number of decisions written (None
    from Spark, which does not count). With a Per Days limit the claims are one run, counted
    against `history` (the members' earlier fills: a file, read as claims are). The reading's
    notes are said once every claim was decided."""
    reading = options.setdefault("reading", None) or Reading()
    options["reading"] = reading
    written = _decide_file(claims, chosen, **options)
    reading.said_all()
    return written


def _decide_file(
    claims: Claims,
    chosen: Engine | Versions,
    *,
    as_of=None,
    output: str | None = None,
    fmt: str | None = None,
    spark: str | None = None,
    reading: Reading | None = None,
    history: Claims | None = None,
) -> int | None:
    reading = reading or Reading()
    if isinstance(chosen, Versions) and as_of is None:
        reading.versions = chosen
    _check_output(claims, output)
    per_days = per_days_products(chosen)
    if spark:
        run = bool(per_days) or history is not None
        return _decide_on_spark(claims, chosen, as_of, output, fmt, spark, reading, run, history)
    fmt = out.output_format(fmt, output)
    if per_days or history is not None:  # one run: read whole first, in bounded memory
        columns = run_pass(chosen, as_of)
        from .buckets import Spill, SpilledRun  # not at import: a Per Rx run's start

        with Spill(_near(output)) as spill:
            run = SpilledRun(_claim_tables(claims, reading), spill)
            received = run.received(columns, per_days, _history(history))
            batches = (batch for batch, _ in run.batches())
            return _stream(batches, run.decided(columns, received), output, fmt)
    decide = (lambda c: chosen.decide(c, as_of)) if isinstance(chosen, Versions) else chosen.decide
    # Arrow tables, by one version or a ruleset's versions (pandas never imported)
    from .sources import claims_batches

    block = JSON_BLOCK_BYTES if fmt in ("json", "jsonl") else None
    batches = claims_batches(claims, STANDARD_INPUT, block, True, **reading.read())
    return _stream(batches, decide, output, fmt)


def per_days_products(chosen: Engine | Versions) -> frozenset[str]:
    """The products (product_id, case folded) any version limits Per Days."""
    if isinstance(chosen, Versions):
        return chosen.per_days_products()
    return frozenset(p.product_id.strip().casefold() for p in chosen.products if p.days)


def _claim_tables(claims: Claims, reading: Reading) -> Iterator:
    from .sources import claims_batches

    return claims_batches(claims, STANDARD_INPUT, None, True, **reading.read())


def _history(history: Claims | None) -> Iterator:
    if history is None:
        return iter(())
    from .sources import claims_batches

    return claims_batches(history, "The history file", None, True, columns=HistoryColumns())


def _near(output: str | None) -> str | None:
    """Where a run's working files go: beside the output (the disk it is written to), else the
    system's temporary folder."""
    if output and not out.writes_through(output):
        folder = Path(output).absolute().parent
        return str(folder) if folder.is_dir() else None
    return None


def _refuse_windows_on_spark(per_days: frozenset[str], history: Claims | None) -> None:
    if per_days or history is not None:
        raise UsageError(
            "dqm impact --spark does not compare Per Days limits (each version's run counts the "
            "members' fills); run dqm impact without --spark."
        )


def _check_output(claims: Claims, output: str | None) -> None:
    """An output that would overwrite the claims, or be read as claims by the next run, is
    refused before anything is read."""
    if not output or not isinstance(claims, (str, Path)):
        return
    if out.same_file(output, claims):
        raise UsageError(
            f"--output {output} is the claims file itself; give another file name for the "
            "decisions."
        )
    if out.inside(output, claims):
        raise UsageError(
            f"--output {output} is inside the claims folder {claims}, so the next run would read "
            "these decisions as claims; write them outside it."
        )


def _stream(batches: Iterator, decide, output: str | None, fmt: str) -> int:
    """Claims read, decided and written batch by batch (stream.py)."""
    from .stream import Tally, decide_stream
    from .writer import DecisionWriter

    tally = Tally()
    try:
        with out.into(output) as sink:
            writer = DecisionWriter(sink, fmt)
            # JSON is encoded as it is written: batches made ahead would wait in memory.
            encode = writer.encode if fmt in ("csv", "parquet") else None
            try:
                decide_stream(batches, decide, writer.write_encoded, tally, encode=encode)
            except BaseException:
                writer.discard()
                raise
            writer.close()
    except ClaimsFileError as exc:
        if output and not out.writes_through(output):
            raise ClaimsFileError(f"{exc} Nothing was written to {output}.") from None
        if tally.written:
            raise ClaimsFileError(
                f"{exc} Stopped there: the first {tally.written:,} decisions were written."
            ) from None
        raise
    except BrokenPipeError:  # the reader went away (`dqm decide … | head`)
        raise
    except OSError as exc:
        where = out.described(output) if output else "the decisions to standard output"
        raise UsageError(f"Cannot write {where}: {exc.strerror or exc}.") from None
    return tally.written


def impact_file(claims: Claims, before: dict, after: dict, **options) -> Transitions:
    """The same claims decided by two versions: the transitions between their decisions, and the
    claims whose decision changed written into `output` (when given). With a Per Days limit, each
    version decides the claims as its own run against `history` (a claim one denies counts toward
    none of its later ones). The reading's notes are said once the claims were compared."""
    reading = options.setdefault("reading", None) or Reading()
    options["reading"] = reading
    transitions = _impact_file(claims, before, after, **options)
    reading.said_all()
    return transitions


def _impact_file(
    claims: Claims,
    before: dict,
    after: dict,
    *,
    output: str | None = None,
    fmt: str | None = None,
    spark: str | None = None,
    reading: Reading | None = None,
    history: Claims | None = None,
) -> Transitions:
    reading = reading or Reading()
    _check_output(claims, output)
    fmt = out.output_format(fmt, output)
    engines = Engine(before), Engine(after)
    per_days = per_days_products(engines[0]) | per_days_products(engines[1])
    if spark:
        _refuse_windows_on_spark(per_days, history)
        _spark_claims(claims, reading)
        spark_module = _spark_module()
        with _spark_session(spark_module, spark) as session:
            frame, width = spark_module.read_claims(
                session, str(claims), reading.columns, reading.header
            )
            transitions, changed = spark_module.impact(frame, before, after, csv_width=width)
            if output:
                out.write_spark_folder(changed, output)
        return transitions

    from .sources import claims_batches

    if not (per_days or history is not None):
        batches = claims_batches(claims, STANDARD_INPUT, **reading.read())
        return _impact(batches, engines[0].decide, engines[1].decide, output, fmt)
    from .buckets import Spill, SpilledRun

    with Spill(_near(output)) as spill:  # each version's run, read whole first
        run = SpilledRun(_claim_tables(claims, reading), spill)
        sides = []
        for engine in engines:
            received = run.received(engine.decide_columns, per_days, _history(history))
            decided = run.decided(engine.decide_columns, received)
            sides.append(lambda frame, decided=decided: decided(_table(frame)).frame())
        frames = (batch.to_pandas() for batch, _ in run.batches())
        return _impact(frames, sides[0], sides[1], output, fmt)


def _table(frame):
    import pyarrow as pa

    return pa.Table.from_pandas(frame, preserve_index=False)


def _impact(batches: Iterator, before: Callable, after: Callable, output, fmt) -> Transitions:
    from .impact import IMPACT_SCHEMA, impact_stream
    from .stream import Tally
    from .writer import DecisionWriter

    if not output:
        return impact_stream(batches, before, after, lambda changed: None)
    try:
        with out.into(output) as sink:
            writer = DecisionWriter(sink, fmt, IMPACT_SCHEMA)
            transitions = impact_stream(batches, before, after, writer.write, Tally())
            writer.close()
    except OSError as exc:
        raise UsageError(f"Cannot write {out.described(output)}: {exc.strerror or exc}.") from None
    return transitions


def _decide_on_spark(
    claims, chosen, as_of, output, fmt: str | None, master: str, reading: Reading, run, history
) -> None:
    """Claims read, decided and written as a folder of Parquet files by Spark; the folder appears
    complete under `output`, or not at all. A `run` (a Per Days limit, or a `history`) is decided
    grouped by member (spark_runs.py)."""
    if not output:
        raise UsageError(
            "--spark writes its decisions into a folder of Parquet files: give --output DIR."
        )
    if fmt and fmt != "parquet":
        raise UsageError(f"--spark writes Parquet, not {fmt}; leave out --format.")
    out.output_format("parquet", output)  # a folder named out.csv would not be what it says
    _spark_claims(claims, reading)
    if history is not None and not isinstance(history, (str, Path)):
        raise UsageError("--spark reads the history from a file or folder, not standard input.")
    spark_module = _spark_module()
    with _spark_session(spark_module, master) as session:
        frame, width = spark_module.read_claims(
            session, str(claims), reading.columns, reading.header
        )
        docs = (
            [chosen.engine(v).ruleset for v in chosen.effective]
            if isinstance(chosen, Versions)
            else [chosen.ruleset]
        )
        if run:
            from . import spark_runs

            fills, fills_width = (None, 0)
            if history is not None:
                fills, fills_width = spark_runs.read_history(session, str(history))
            decisions = spark_runs.decide(
                frame, docs, one=isinstance(chosen, Engine), as_of=as_of, csv_width=width,
                history=fills, history_width=fills_width,
            )  # fmt: skip
        else:
            decisions = spark_module.decide(frame, docs, as_of=as_of, csv_width=width)
        out.write_spark_folder(decisions, output)
    return None


def _spark_claims(claims: Claims, reading: Reading) -> None:
    if not isinstance(claims, (str, Path)):
        raise UsageError("--spark reads the claims from a file or folder, not standard input.")
    if reading.encoding:
        raise UsageError(
            f"--spark reads a CSV as UTF-8, not {reading.encoding}; decide it without --spark, "
            "or save it as CSV UTF-8 first."
        )


def _spark_module():
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise UsageError(
            "--spark needs Apache Spark's Python package: pip install 'dqm[spark]' (and Java 17 "
            "or later)."
        ) from None
    from . import spark

    return spark


@contextlib.contextmanager
def _spark_session(spark_module, master: str) -> Iterator:
    """A session for one job, stopped after it (unless the process already had one: a notebook's
    or a test's, which is theirs to stop). A failed Spark job is one line, not the JVM's stack."""
    from pyspark.sql import SparkSession

    ours = SparkSession.getActiveSession() is None
    try:
        session = spark_module.session(master)
    except Exception as exc:  # pyspark raises plain exceptions when Java cannot start
        raise UsageError(
            f"Spark could not start with master {master} ({_first_line(exc)}); it needs Java 17 "
            "or later (java -version)."
        ) from None
    try:
        yield session
    except DqmError:  # already one line (a claims file, a history row)
        raise
    except Exception as exc:
        raise UsageError(f"Spark stopped: {_first_line(exc)}") from None
    finally:
        if ours:
            session.stop()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    for line in text.splitlines():
        if line.strip() and not line.startswith(("Traceback", "  ", "\t")):
            return line.strip()[:300]
    return type(exc).__name__
