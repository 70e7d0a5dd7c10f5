"""Capacity: reviewers at once, each a session over Streamlit's own websocket (/_stcore/stream:
protobuf BackMsg out, ForwardMsg in), on one `streamlit run app.py` and on several behind HAProxy
(`bash scripts/serve.sh N`), side by side in one run. Each session opens the app as a browser
does (the page, then the health check: HAProxy's SERVERID cookie and Streamlit's XSRF cookie, sent
on the websocket and on uploads) and goes through the One claim flow (choose the 400 mg product,
Home Delivery, quantity 300, add rifampin) and the Batch flow (open Batch, Decide all) ROUNDS
times. Then the memory a session's upload held: SESSIONS sessions each upload a 9 MB claims file
on Batch, decide it and close; the server's RSS before (warm), at its peak, and once they ended.

    .venv/bin/python benchmarks/bench_capacity.py [--sessions 20] [--rounds 3] [--think 0.5]
        [--processes 2] [--repeats 2] [--upload-sessions 16] [--upload-mb 9]
        [--app-dir DIR]   # another checkout's app.py for the one-process setups
        [--only capacity|memory]

The setups alternate within the run (REPEATS times: one reviewer alone, then SESSIONS on one
process and on PROCESSES behind the proxy, in turn). A step is timed from sending the rerun (a
widget changed, a page chosen) to the server's `script_finished`: the server's share of what a
reviewer waits for, without a browser's rendering. (Twenty Chromium pages on this 2-core machine
spent the CPU themselves: steps then took minutes, whatever the server did.) `--think` seconds
pass between a session's steps. Each flow checks what it ends with (override 270; the batch
decided). Server CPU is utime+stime from /proc/<pid>/stat of every server process (the apps and
HAProxy). Recorded figures: benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import shutil
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.Common_pb2 import FileUploaderState, UploadedFileInfo
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fixtures.browser import (  # noqa: E402
    rss_mb,
    served_behind_proxy,
    settled_rss,
    streamlit_server,
)

PRODUCT = "imatinib-400mg-tab"
# Sessions are dropped 5 s after their websocket closes (120 s by default).
OPTIONS = ("--server.disconnectedSessionTTL", "5")


class Session:
    """One reviewer: its cookies, a websocket session, the widgets of the page it shows, and its
    choices."""

    def __init__(self, url: str, think: float, times: dict[str, list[float]]):
        self.base = url
        self.url = url.replace("http", "ws", 1) + "/_stcore/stream"
        self.think, self.times = think, times
        self.cookies: dict[str, str] = {}
        self.session_id = ""
        self.widgets: dict[str, object] = {}  # key -> the widget's proto, from the last run
        self.states: dict[str, WidgetState] = {}  # key -> what this reviewer chose
        self.pages: dict[str, str] = {}  # page title -> its script hash
        self.page = ""
        self.elements: list = []

    def _http(self, method: str, path: str, body: bytes | None = None, **headers: str) -> int:
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        request = urllib.request.Request(self.base + path, body, headers, method=method)
        with urllib.request.urlopen(request, timeout=120) as r:
            r.read()
            for cookie in r.headers.get_all("Set-Cookie") or []:
                name, _, value = cookie.split(";", 1)[0].partition("=")
                self.cookies[name.strip()] = value.strip()
            return r.status

    async def http(self, method: str, path: str, body: bytes | None = None, **headers) -> int:
        return await asyncio.to_thread(self._http, method, path, body, **headers)

    async def rerun(self, ws, step: str, trigger: str | None = None) -> None:
        """Ask for a run with the current choices (and a button pressed), wait for its end."""
        msg = BackMsg()
        msg.rerun_script.page_script_hash = self.page
        for key, state in self.states.items():
            if key in self.widgets:
                msg.rerun_script.widget_states.widgets.append(state)
        if trigger:
            pressed = WidgetState(id=self.widgets[trigger].id, trigger_value=True)
            msg.rerun_script.widget_states.widgets.append(pressed)
        started = time.perf_counter()
        await ws.send(msg.SerializeToString())
        await self.until_finished(ws)
        self.times.setdefault(step, []).append(time.perf_counter() - started)
        await asyncio.sleep(self.think)

    async def until_finished(self, ws, until: str = "script_finished") -> ForwardMsg:
        widgets, elements = {}, []
        while True:
            fwd = ForwardMsg()
            fwd.ParseFromString(await ws.recv())
            kind = fwd.WhichOneof("type")
            if kind == "new_session":
                self.session_id = fwd.new_session.initialize.session_id
            elif kind == "navigation":
                self.pages = {p.page_name: p.page_script_hash for p in fwd.navigation.app_pages}
            elif kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
                element = fwd.delta.new_element
                proto = getattr(element, element.WhichOneof("type"))
                elements.append(element)
                key = getattr(proto, "id", "").rsplit("-", 1)[-1] if hasattr(proto, "id") else ""
                if key:
                    widgets[key] = proto
            if kind == until == "script_finished":
                self.widgets, self.elements = widgets, elements
                return fwd
            if kind == until:
                return fwd

    def choose(self, key: str, **value) -> None:
        self.states[key] = WidgetState(id=self.widgets[key].id, **value)

    def metric(self, label: str) -> str:
        return next(e.metric.body for e in self.elements if e.metric.label == label)

    def heading(self, text: str) -> str:
        return next((e.heading.body for e in self.elements if text in e.heading.body), "")

    async def claim_flow(self, ws) -> None:
        self.page = self.pages.get("One claim", "")
        await self.rerun(ws, "1 open One claim")
        product = next(  # the label is the id, or once was "name (id)"
            o for o in self.widgets["claim_product"].options if o.endswith(PRODUCT)
        )
        self.choose("claim_product", string_value=product)
        await self.rerun(ws, "2 choose the product")
        self.choose("claim_channel", string_value="Home Delivery")
        await self.rerun(ws, "3 choose Home Delivery")
        if type(self.widgets["claim_quantity"]).__name__ == "NumberInput":  # before issue 14
            self.choose("claim_quantity", double_value=300.0)
        else:
            self.choose("claim_quantity", string_value="300")
        await self.rerun(ws, "4 type quantity 300")
        self.choose("claim_drugs", string_array_value={"data": ["rifampin"]})
        await self.rerun(ws, "5 add rifampin")
        if self.metric("Approved quantity") != "270":  # home delivery, an inducer: capped
            raise AssertionError(f"One claim ended at {self.metric('Approved quantity')!r}")

    async def batch_flow(self, ws) -> None:
        self.page = self.pages["Batch"]
        await self.rerun(ws, "6 open Batch")
        await self.rerun(ws, "7 Decide all", trigger="batch_decide")
        if not self.heading("decisions by"):
            raise AssertionError("the batch was not decided")

    async def upload_flow(self, ws, claims: Path, rows: int) -> None:
        """Batch: upload a claims file as the browser does (ask the session for an upload URL,
        PUT the file there with the XSRF token, name it in the uploader's state) and decide it."""
        self.page = self.pages["Batch"]
        await self.rerun(ws, "8 open Batch")
        ask = BackMsg()
        ask.file_urls_request.request_id = str(uuid.uuid4())
        ask.file_urls_request.file_names.append(claims.name)
        ask.file_urls_request.session_id = self.session_id
        await ws.send(ask.SerializeToString())
        urls = (await self.until_finished(ws, "file_urls_response")).file_urls_response.file_urls[0]
        data, boundary = claims.read_bytes(), uuid.uuid4().hex
        body = b"".join(
            [
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                f'filename="{claims.name}"\r\nContent-Type: text/csv\r\n\r\n'.encode(),
                data,
                f"\r\n--{boundary}--\r\n".encode(),
            ]
        )
        started = time.perf_counter()
        await self.http(
            "PUT",
            urls.upload_url,
            body,
            **{
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                "X-Xsrftoken": self.cookies.get("_streamlit_xsrf", ""),
            },
        )
        self.times.setdefault("9 upload the file", []).append(time.perf_counter() - started)
        info = UploadedFileInfo(name=claims.name, size=len(data), file_id=urls.file_id)
        info.file_urls.CopyFrom(urls)
        self.states["batch_upload"] = WidgetState(
            id=self.widgets["batch_upload"].id,
            file_uploader_state_value=FileUploaderState(uploaded_file_info=[info]),
        )
        await self.rerun(ws, "10 read the file")
        await self.rerun(ws, "11 Decide all of it", trigger="batch_decide")
        if not self.heading("decisions by").startswith(f"{rows:,} decisions by"):
            raise AssertionError(f"the upload was not decided: {self.heading('decisions by')!r}")

    async def run(self, rounds: int, upload: tuple[Path, int] | None = None) -> int:
        # A browser asks for the page, then the health check (Streamlit's XSRF cookie), with
        # the proxy's cookie from the first answer on every request after it.
        await self.http("GET", "/")
        await self.http("GET", "/_stcore/health")
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        async with websockets.connect(
            self.url,
            subprotocols=["streamlit"],
            additional_headers=headers,
            max_size=None,
            ping_interval=None,
        ) as ws:
            started = time.perf_counter()
            await ws.send(BackMsg(rerun_script={}).SerializeToString())  # the browser's first run
            await self.until_finished(ws)
            self.times.setdefault("0 connect and first run", []).append(
                time.perf_counter() - started
            )
            await asyncio.sleep(self.think)
            if upload:
                await self.upload_flow(ws, *upload)
                return 1
            for _ in range(rounds):
                await self.claim_flow(ws)
                await self.batch_flow(ws)
        return 2 * rounds


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def drive(
    url: str, sessions: int, rounds: int, think: float, upload=None
) -> tuple[dict, int, list, dict[str, int]]:
    times: dict[str, list[float]] = {}
    reviewers = [Session(url, think, times) for _ in range(sessions)]
    results = await asyncio.gather(
        *(s.run(rounds, upload) for s in reviewers), return_exceptions=True
    )
    errors = [f"{type(r).__name__}: {r}" for r in results if isinstance(r, BaseException)]
    landed: dict[str, int] = {}  # the proxy's cookie: which process each session was on
    for s in reviewers:
        where = s.cookies.get("SERVERID", "-")
        landed[where] = landed.get(where, 0) + 1
    return times, sum(r for r in results if isinstance(r, int)), errors, landed


def p95(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(0.95 * (len(xs) - 1)))]


class Setup:
    """A served app (one process, or several behind HAProxy) and what it measured."""

    def __init__(self, name: str, url: str, pids: list[int]):
        self.name, self.url, self.pids = name, url, pids
        self.times: dict[str, list[float]] = {}
        self.cpu = self.wall = 0.0
        self.flows = 0
        self.errors: list[str] = []
        self.landed: dict[str, int] = {}
        self.per_process = [0.0] * len(pids)

    def measure(self, sessions: int, rounds: int, think: float) -> None:
        cpu0 = [cpu_seconds(p) for p in self.pids]
        wall0 = time.perf_counter()
        times, flows, errors, landed = asyncio.run(drive(self.url, sessions, rounds, think))
        self.wall += time.perf_counter() - wall0
        used = [cpu_seconds(p) - c for p, c in zip(self.pids, cpu0, strict=True)]
        self.per_process = [a + b for a, b in zip(self.per_process, used, strict=True)]
        self.cpu += sum(used)
        self.flows += flows
        self.errors += errors
        for k, v in landed.items():
            self.landed[k] = self.landed.get(k, 0) + v
        for step, xs in times.items():
            self.times.setdefault(step, []).extend(xs)


def claims_file(path: Path, mb: float) -> tuple[Path, int]:
    """A claims CSV of about `mb` MB (10^6 bytes), under the app's 10 MB upload limit."""
    header = "claim_id,product_id,channel,quantity,concomitant_drugs\n"
    rows, size = [], len(header)
    while size < mb * 1_000_000:
        row = f"c{len(rows)},imatinib-400mg-tab,retail,{30 + len(rows) % 120},rifampin\n"
        rows.append(row)
        size += len(row)
    path.write_text(header + "".join(rows))
    return path, len(rows)


class Peak:
    """The highest RSS of a process, sampled every 0.1 s while the block runs."""

    def __init__(self, pid: int):
        self.pid, self.mb, self._done = pid, 0.0, threading.Event()

    def __enter__(self):
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._done.wait(0.1):
            self.mb = max(self.mb, rss_mb(self.pid))

    def __exit__(self, *exc):
        self._done.set()
        self._thread.join()


def memory(args, tmp: Path, exports: Path) -> str:
    """SESSIONS uploads of a 9 MB file on one fresh process: its RSS warm, at the peak, after."""
    claims = claims_file(tmp / "claims-9mb.csv", args.upload_mb)
    log = tmp / "memory.log"
    with streamlit_server(exports, log, app_dir=args.app_dir, options=OPTIONS) as url:
        pid = url.pid
        _, _, errors, _ = asyncio.run(drive(url, 1, 1, 0, claims))  # warm: imports, caches
        baseline = settled_rss(pid, wait=20, seconds=90)
        with Peak(pid) as peak:
            t0 = time.perf_counter()
            times, done, more, _ = asyncio.run(
                drive(url, args.upload_sessions, 1, args.think, claims)
            )
            wall = time.perf_counter() - t0
        held = rss_mb(pid)
        after = settled_rss(pid, wait=20, seconds=90)
    errors += more
    for e in errors:
        print(e)
    lines = [
        f"memory: {args.upload_sessions} sessions each upload {claims[0].stat().st_size:,} bytes "
        f"({claims[1]:,} claims) on Batch, decide them and close · {done} decided · "
        f"{len(errors)} errors · {wall:.0f} s",
        f"  RSS warm baseline {baseline:.0f} MB, peak {peak.mb:.0f} MB, {held:.0f} MB as they "
        f"closed, {after:.0f} MB once they ended: {after - baseline:+.0f} MB "
        f"(target within 100 MB: {'met' if after - baseline < 100 else 'NOT met'})",
    ]
    for name in sorted(times):
        lines.append(
            f"  {name:26} p50 {statistics.median(times[name]):6.2f} s  p95 "
            f"{p95(times[name]):6.2f} s"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--think", type=float, default=0.5)
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--upload-sessions", type=int, default=16)
    ap.add_argument("--upload-mb", type=float, default=9)
    ap.add_argument("--app-dir", type=Path, default=ROOT)
    ap.add_argument("--only", choices=("capacity", "memory"), help="one part of the run")
    args = ap.parse_args()
    if args.only == "memory":
        with tempfile.TemporaryDirectory() as tmp_name:
            tmp = Path(tmp_name)
            shutil.copytree(args.app_dir / "exports", tmp / "exports")
            print(f"load average {os.getloadavg()[0]:.1f} at the start")
            print(memory(args, tmp, tmp / "exports"))
            print(f"load average {os.getloadavg()[0]:.1f} at the end")
        return
    load0, started = os.getloadavg(), time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        exports = tmp / "exports"
        shutil.copytree(args.app_dir / "exports", exports, ignore=shutil.ignore_patterns(".lock"))
        with contextlib.ExitStack() as stack:
            one = stack.enter_context(
                streamlit_server(exports, tmp / "one.log", app_dir=args.app_dir, options=OPTIONS)
            )
            many = stack.enter_context(
                served_behind_proxy(args.processes, exports, tmp / "many.log", options=OPTIONS)
            )
            alone = Setup("1 reviewer alone, 1 process", one, [one.pid])
            single = Setup(f"{args.sessions} sessions, 1 process", one, [one.pid])
            proxied = Setup(
                f"{args.sessions} sessions, {args.processes} processes behind HAProxy",
                many,
                [*many.apps, many.haproxy],
            )
            # Warm every process (imports, caches) before anything is timed.
            asyncio.run(drive(one, 1, 1, 0))
            asyncio.run(drive(many, args.processes, 1, 0))
            for r in range(args.repeats):
                alone.measure(1, args.rounds, args.think)
                for setup in (single, proxied) if r % 2 == 0 else (proxied, single):
                    setup.measure(args.sessions, args.rounds, args.think)
        load1 = os.getloadavg()
        mem = None if args.only == "capacity" else memory(args, tmp, exports)
    client = resource.getrusage(resource.RUSAGE_SELF)
    setups = (alone, single, proxied)
    print(
        f"{started} · {args.app_dir} · {args.repeats} repeats alternating · "
        f"{args.rounds} rounds · think {args.think} s · load average "
        f"{load0[0]:.1f} {load0[1]:.1f} at the start, {load1[0]:.1f} {load1[1]:.1f} after the "
        f"capacity runs"
    )
    for s in setups:
        for e in s.errors:
            print(f"{s.name}: {e}")
        split = " + ".join(f"{c:.0f}" for c in s.per_process)
        print(
            f"{s.name}: {s.flows} flows, {len(s.errors)} errors, {s.wall:.0f} s; server CPU "
            f"{s.cpu:.0f} s ({split}), {s.cpu / max(s.flows, 1):.2f} s per flow, "
            f"{s.cpu / max(s.wall, 1e-9):.2f} cores; sessions per process {s.landed}"
        )
    print(f"{'step (p50 / p95 s)':26}" + "".join(f" {s.name[:24]:>24}" for s in setups))
    for step in sorted(single.times):
        cells = []
        for s in setups:
            xs = s.times.get(step, [])
            cells.append(f"{statistics.median(xs):.2f} / {p95(xs):.2f}" if xs else "-")
        print(f"{step:26}" + "".join(f" {c:>24}" for c in cells))
    worst = {s.name: max(p95(xs) for xs in s.times.values()) for s in setups[1:]}
    for name, w in worst.items():
        print(f"{name}: worst step p95 {w:.2f} s (target < 2 s: {'met' if w < 2 else 'NOT met'})")
    if mem:
        print(mem)
    print(f"this client: {client.ru_utime + client.ru_stime:.1f} CPU s")


if __name__ == "__main__":
    main()
