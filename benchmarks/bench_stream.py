"""Streaming `dqm decide` at scale, side by side with an honest floor in the same run, and Spark.

    .venv/bin/python benchmarks/bench_stream.py [--sizes 1000000 8000000] [--runs 5]
        [--formats csv parquet] [--data DIR] [--startup-runs 11] [--spark-claims 10000000]
        [--skip-spark] [--against CHECKOUT]

Claims are generated once into DATA (by default benchmarks/data/, git-ignored) as CSV and Parquet,
in chunks of 1,000,000 with bench_decide.py's mix (ids C0, C1, … across the file).

The floor reads the same claims with the same reader (pyarrow's CSV reader, multithreaded, with
dqm's column types; or pyarrow's Parquet reader) and writes exactly the bytes `dqm decide` writes
with the same writer (Arrow's CSV writer; Arrow's Parquet writer, one row group per dqm batch):
the decisions, taken from a `dqm decide` run made first (untimed), are held in an Arrow IPC file
that the floor memory-maps. So the floor does the reading, the formatting and the writing dqm
must do (and synced to disk, as dqm's output is before it is renamed into place), and nothing of
deciding. Every output is checked to be byte for byte dqm's.

Floor and dqm run alternately (floor first in odd runs, dqm first in even ones), each as its own
process: wall seconds (from the parent) and peak RSS (the child's rusage). The script prints, per
size and format, the medians, the ratio of the medians, the median of the run-by-run ratios, the
peak RSS of each, and the load average before and after. It also times a one-claim
`dqm decide` against `python -c 'import pyarrow.csv'` (start-up), alternately.

With --against CHECKOUT (another checkout of dqm, such as `git worktree add /tmp/old COMMIT`), each
size and format times that checkout's `dqm decide` (`python -m compiler.cli`, from its folder)
instead of the floor, alternately with this one's: a change measured against earlier code.

Spark (unless --skip-spark): `dqm decide claims.parquet --spark local[2] --output DIR` (JVM start
included), beside Spark copying the same claims (read Parquet, write Parquet: Spark's own floor,
JVM start included) and the single process on the same Parquet file.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RULESET = ROOT / "exports" / "oncology-dqm" / "v3.json"
PYTHON = sys.executable
DQM = str(Path(sys.executable).parent / "dqm")
CHUNK = 1_000_000
DATA = ROOT / "benchmarks" / "data"

# The floor: argv = claims file, the held decisions (Arrow IPC file), the output file.
FLOOR = r"""
import os, sys
import pyarrow as pa, pyarrow.csv as pacsv, pyarrow.ipc as ipc, pyarrow.parquet as pq
src, held, out = sys.argv[1:4]
if src.endswith(".parquet"):
    claims = pq.read_table(src)
else:
    coded = pa.dictionary(pa.int32(), pa.string())
    with open(src, "rb") as f:
        header = f.readline().decode().strip().split(",")
    claims = pacsv.read_csv(src, convert_options=pacsv.ConvertOptions(
        column_types={c: pa.string() if c == "claim_id" else coded for c in header},
        null_values=[""], strings_can_be_null=True, quoted_strings_can_be_null=True))
decisions = ipc.open_file(pa.memory_map(held)).read_all()  # zero-copy: pages of the held file
if out.endswith(".parquet"):
    with pq.ParquetWriter(out, decisions.schema) as writer:
        for batch in decisions.to_batches():  # one row group per batch, as dqm writes them
            writer.write_batch(batch)
else:
    pacsv.write_csv(decisions, out, pacsv.WriteOptions(batch_size=16384))
fd = os.open(out, os.O_RDONLY)  # on disk before it counts, as dqm's output (compiler/atomic.py)
os.fsync(fd)
os.close(fd)
"""

SPARK_COPY = r"""
import sys
from compiler.decide import spark as dqm_spark
spark = dqm_spark.session("local[2]")
spark.read.parquet(sys.argv[1]).write.parquet(sys.argv[2])
spark.stop()
"""


def generate(n: int, data: Path = DATA) -> tuple[Path, Path]:
    """claims-N.csv and claims-N.parquet in `data`, written once, chunk by chunk."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_decide import claims

    csv_path, parquet_path = data / f"claims-{n}.csv", data / f"claims-{n}.parquet"
    if csv_path.exists() and parquet_path.exists():
        return csv_path, parquet_path
    writer = None
    with open(csv_path, "w") as out:
        for i, start in enumerate(range(0, n, CHUNK)):
            frame = claims(min(CHUNK, n - start), seed=100 + i)
            frame["claim_id"] = [f"C{start + k}" for k in range(len(frame))]
            frame.to_csv(out, index=False, header=i == 0)
            table = pa.Table.from_pandas(frame, preserve_index=False)
            writer = writer or pq.ParquetWriter(parquet_path, table.schema)
            writer.write_table(table)
    writer.close()
    return csv_path, parquet_path


def held_decisions(reference: Path, held: Path) -> None:
    """The decisions of a `dqm decide` run, as an Arrow IPC file the floor writes them from: a
    Parquet file's row groups as they are (one batch each); a CSV file read back with its text
    cells as text (empty-but-quoted as empty text, unquoted empty as null) and its numbers as
    numbers, which Arrow's CSV writer writes back as the same bytes (checked by the caller)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.ipc as ipc
    import pyarrow.parquet as pq

    sys.path.insert(0, str(ROOT))
    from compiler.vocabulary import DECISION_COLUMNS, NUMBER_COLUMNS

    if reference.suffix == ".parquet":
        parquet = pq.ParquetFile(reference)
        batches = (
            batch
            for group in range(parquet.metadata.num_row_groups)
            for batch in parquet.read_row_group(group).combine_chunks().to_batches()
        )
        schema = parquet.schema_arrow
    else:
        text = {c: pa.string() for c in DECISION_COLUMNS if c not in NUMBER_COLUMNS}
        text["quantity"] = pa.string()  # a text cell in dqm's CSV ("60", "ten")
        reader = pacsv.open_csv(
            reference,
            read_options=pacsv.ReadOptions(block_size=64 << 20),
            convert_options=pacsv.ConvertOptions(
                column_types=text,
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
            ),
        )
        batches, schema = reader, reader.schema
    with ipc.new_file(held, schema) as sink:
        for batch in batches:
            sink.write_batch(batch)


def in_child(function, *args):
    """`function(*args)` in a child process, so that this one stays small: a child's peak RSS
    (what `run` reports) starts from its parent's, which it was forked from."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(function, *args).result()


def run(args: list[str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + system) and peak RSS (MB) of one process."""
    start = time.perf_counter()
    child = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    errors = child.stderr.read().decode(errors="replace")
    child.stderr.close()
    if child.returncode:
        raise SystemExit(f"{' '.join(args)} failed ({child.returncode}):\n{errors}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 24):
            h.update(chunk)
    return h.hexdigest()


def side_by_side(commands: dict[str, list[str]], runs: int, out: Path | None) -> dict:
    """Each command `runs` times, alternately (the order flipped every run), `out` removed and
    the disk synced before each (untimed). Per command: the median wall and CPU seconds, the
    highest peak RSS; and the ratio of the last command's median to the first's."""
    names = list(commands)
    walls: dict[str, list[float]] = {n: [] for n in names}
    cpus: dict[str, list[float]] = {n: [] for n in names}
    peaks: dict[str, list[float]] = {n: [] for n in names}
    for i in range(runs):
        for name in names if i % 2 == 0 else names[::-1]:
            if out is not None:
                _remove(out)
            os.sync()
            wall, cpu, peak = run(commands[name])
            walls[name].append(wall)
            cpus[name].append(cpu)
            peaks[name].append(peak)
    first, last = names[0], names[-1]
    result = {
        n: {
            "seconds": round(statistics.median(walls[n]), 3),
            "cpu_seconds": round(statistics.median(cpus[n]), 3),
            "peak_rss_mb": round(max(peaks[n])),
            "runs_seconds": [round(w, 2) for w in walls[n]],
        }
        for n in names
    }
    result["x_first"] = round(result[last]["seconds"] / result[first]["seconds"], 2)
    result["median_of_run_ratios"] = round(
        statistics.median(b / a for a, b in zip(walls[first], walls[last], strict=True)), 2
    )
    return result


def streaming(n: int, kind: str, src: Path, runs: int, data: Path) -> dict:
    """Floor and `dqm decide` alternately on one claims file; the outputs checked equal."""
    out = data / f"decisions.{kind}"
    reference, held = data / f"reference-{n}.{kind}", data / f"held-{n}-{kind}.arrow"
    dqm = [DQM, "decide", str(src), "--ruleset", str(RULESET), "--output"]
    floor = [PYTHON, "-c", FLOOR, str(src), str(held)]
    _remove(reference)
    run([*dqm, str(reference)])  # untimed: the decisions the floor holds
    in_child(held_decisions, reference, held)
    run([*floor, str(out)])  # the floor writes dqm's bytes, or the figures below mean nothing
    if digest(out) != digest(reference):
        raise SystemExit(f"the floor's {out} is not byte for byte dqm's {reference}")
    result = side_by_side({"floor": [*floor, str(out)], "dqm": [*dqm, str(out)]}, runs, out)
    if digest(out) != digest(reference):
        raise SystemExit(f"dqm's {out} differs from its first run's {reference}")
    result["claims_per_s"] = round(n / result["dqm"]["seconds"])
    result["output_mb"] = round(out.stat().st_size / 2**20)
    _remove(reference)
    _remove(held)
    return result


def against(n: int, kind: str, src: Path, runs: int, data: Path, tree: Path) -> dict:
    """`dqm decide` of this tree and of another checkout of dqm (`tree`, such as a git worktree
    of an earlier commit) alternately on one claims file, each `python -m compiler.cli` from its
    own folder (its outputs differ where the contract has changed: not compared)."""
    out = data / f"decisions.{kind}"
    args = ["-m", "compiler.cli", "decide", str(src), "--ruleset", str(RULESET), "--output"]
    in_tree = ["sh", "-c", 'cd "$0" && exec "$@"']
    return side_by_side(
        {
            "against": [*in_tree, str(tree), PYTHON, *args, str(out)],
            "dqm": [*in_tree, str(ROOT), PYTHON, *args, str(out)],
        },
        runs,
        out,
    )


def startup(runs: int, data: Path) -> dict:
    """A one-claim `dqm decide` beside `python -c 'import pyarrow.csv'`, alternately."""
    one = data / "one-claim.csv"
    one.write_text("claim_id,product_id,channel,quantity\nC1,imatinib-400mg-tab,retail,60\n")
    out = data / "one-decision.csv"
    return side_by_side(
        {
            "import_pyarrow_csv": [PYTHON, "-c", "import pyarrow.csv"],
            "dqm_one_claim": [
                DQM,
                "decide",
                str(one),
                "--ruleset",
                str(RULESET),
                "--output",
                str(out),
            ],
        },
        runs,
        out,
    )


def _load() -> float:
    return round(os.getloadavg()[0], 1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="*", default=[1_000_000, 8_000_000])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--formats", nargs="*", default=["csv", "parquet"])
    ap.add_argument("--data", type=Path, default=DATA, help="where claims and outputs are written")
    ap.add_argument("--startup-runs", type=int, default=11, help="0: no start-up measure")
    ap.add_argument("--spark-claims", type=int, default=10_000_000)
    ap.add_argument("--skip-spark", action="store_true")
    ap.add_argument(
        "--against",
        type=Path,
        help="another checkout of dqm: its dqm decide instead of the floor (no start-up, Spark)",
    )
    args = ap.parse_args()
    data = args.data
    data.mkdir(parents=True, exist_ok=True)
    # The package's bytecode compiled first, as pip does for an installed package (under
    # PYTHONDONTWRITEBYTECODE every run would compile dqm's modules again: ~0.08 s).
    compile_package = (
        "import compileall, compiler; compileall.compile_dir(compiler.__path__[0], quiet=1)"
    )
    subprocess.run([PYTHON, "-c", compile_package], check=True)
    if args.against:
        subprocess.run(
            [PYTHON, "-m", "compileall", "-q", str(args.against / "compiler")], check=True
        )
    print(
        json.dumps(
            {
                "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                f"Python {platform.python_version()}",
                "load_average_1min": _load(),
            }
        ),
        flush=True,
    )
    if args.startup_runs and not args.against:
        before = _load()
        row = {"start_up": startup(args.startup_runs, data), "load": [before, _load()]}
        print(json.dumps(row), flush=True)
    for n in args.sizes:
        paths = dict(zip(("csv", "parquet"), in_child(generate, n, data), strict=True))
        runs = args.runs if n <= 8_000_000 else max(1, args.runs // 2)
        for kind in args.formats:
            before = _load()
            if args.against:
                result = against(n, kind, paths[kind], runs, data, args.against)
            else:
                result = streaming(n, kind, paths[kind], runs, data)
            row = {"claims": n, "format": kind, "runs": runs, **result, "load": [before, _load()]}
            print(json.dumps(row), flush=True)
    if not args.skip_spark and not args.against:
        spark(args.spark_claims, data)


def measure(args: list[str], clean: Path | None = None) -> dict:
    """One run of one command (Spark's: minutes each)."""
    if clean is not None:
        _remove(clean)
    os.sync()
    wall, _, peak = run(args)
    return {"seconds": round(wall, 2), "peak_rss_mb": round(peak)}


def spark(n: int, data: Path) -> None:
    _, parquet_path = in_child(generate, n, data)
    folder = data / "decisions-spark"
    decide = [DQM, "decide", str(parquet_path), "--ruleset", str(RULESET)]
    single = measure([*decide, "--output", str(data / "decisions.parquet")])
    on_spark = measure([*decide, "--spark", "local[2]", "--output", str(folder)], folder)
    copy = measure([PYTHON, "-c", SPARK_COPY, str(parquet_path), str(folder)], folder)
    result = {
        "claims": n,
        "spark_copy_floor": {**copy, "claims_per_s": round(n / copy["seconds"])},
        "single_process": {**single, "claims_per_s": round(n / single["seconds"])},
        "spark_local_2": {
            **on_spark,
            "claims_per_s": round(n / on_spark["seconds"]),
            "claims_per_s_per_core": round(n / on_spark["seconds"] / 2),
        },
    }
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
