"""Capacity: N reviewers at once on one `streamlit run app.py`, each a session over Streamlit's own
websocket (/_stcore/stream: protobuf BackMsg out, ForwardMsg in), going through the One claim flow
(open the app, choose the 400 mg product, Home Delivery, quantity 300, add rifampin) and the Batch
flow (open Batch, Decide all) ROUNDS times, as a browser would ask for them. Prints p50/p95 per
step over all sessions, the server's CPU seconds per flow (utime+stime from /proc/<pid>/stat) and
its resident memory before, after, and once the sessions have ended.

    .venv/bin/python benchmarks/bench_capacity.py [--sessions 20] [--rounds 3] [--think 0.5]
        [--app-dir DIR]   # another checkout's app.py (e.g. the commit before, side by side)

A step is timed from sending the rerun (a widget changed, a page chosen) to the server's
`script_finished`: the server's share of what a reviewer waits for, without a browser's rendering.
(Twenty Chromium pages on this 2-core machine spent the CPU themselves: steps then took minutes,
whatever the server did.) `--think` seconds pass between a session's steps; 0 makes it a stress
test. Each flow checks what it ends with (override 270; the batch decided). Recorded figures:
benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fixtures.browser import streamlit_server  # noqa: E402

PRODUCT = "(imatinib-400mg-tab)"


class Session:
    """One reviewer: a websocket session, the widgets of the page it shows, and its choices."""

    def __init__(self, url: str, think: float, times: dict[str, list[float]]):
        self.url = url.replace("http", "ws", 1) + "/_stcore/stream"
        self.think, self.times = think, times
        self.widgets: dict[str, object] = {}  # key -> the widget's proto, from the last run
        self.states: dict[str, WidgetState] = {}  # key -> what this reviewer chose
        self.pages: dict[str, str] = {}  # page title -> its script hash
        self.page = ""
        self.elements: list = []

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

    async def until_finished(self, ws) -> None:
        widgets, elements = {}, []
        while True:
            fwd = ForwardMsg()
            fwd.ParseFromString(await ws.recv())
            kind = fwd.WhichOneof("type")
            if kind == "navigation":
                self.pages = {p.page_name: p.page_script_hash for p in fwd.navigation.app_pages}
            elif kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
                element = fwd.delta.new_element
                proto = getattr(element, element.WhichOneof("type"))
                elements.append(element)
                key = getattr(proto, "id", "").rsplit("-", 1)[-1] if hasattr(proto, "id") else ""
                if key:
                    widgets[key] = proto
            elif kind == "script_finished":
                self.widgets, self.elements = widgets, elements
                return

    def choose(self, key: str, **value) -> None:
        self.states[key] = WidgetState(id=self.widgets[key].id, **value)

    def metric(self, label: str) -> str:
        return next(e.metric.body for e in self.elements if e.metric.label == label)

    async def claim_flow(self, ws) -> None:
        self.page = self.pages.get("One claim", "")
        await self.rerun(ws, "1 open One claim")
        product = next(o for o in self.widgets["claim_product"].options if o.endswith(PRODUCT))
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
        if not any("decisions by" in e.heading.body for e in self.elements):
            raise AssertionError("the batch was not decided")

    async def run(self, rounds: int) -> int:
        async with websockets.connect(
            self.url, subprotocols=["streamlit"], max_size=None, ping_interval=None
        ) as ws:
            started = time.perf_counter()
            await ws.send(BackMsg(rerun_script={}).SerializeToString())  # the browser's first run
            await self.until_finished(ws)
            self.times.setdefault("0 connect and first run", []).append(
                time.perf_counter() - started
            )
            await asyncio.sleep(self.think)
            for _ in range(rounds):
                await self.claim_flow(ws)
                await self.batch_flow(ws)
        return 2 * rounds


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def drive(url: str, sessions: int, rounds: int, think: float) -> tuple[dict, int, list]:
    times: dict[str, list[float]] = {}
    results = await asyncio.gather(
        *(Session(url, think, times).run(rounds) for _ in range(sessions)),
        return_exceptions=True,
    )
    errors = [f"{type(r).__name__}: {r}" for r in results if isinstance(r, BaseException)]
    return times, sum(r for r in results if isinstance(r, int)), errors


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--think", type=float, default=0.5)
    ap.add_argument("--app-dir", type=Path, default=ROOT)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        exports = Path(tmp) / "exports"
        shutil.copytree(args.app_dir / "exports", exports, ignore=shutil.ignore_patterns(".lock"))
        # Sessions are dropped 5 s after their websocket closes (120 s by default).
        options = ("--server.disconnectedSessionTTL", "5")
        with streamlit_server(
            exports, Path(tmp) / "streamlit.log", app_dir=args.app_dir, options=options
        ) as url:
            pid = url.pid
            rss0, cpu0, wall0 = rss_mb(pid), cpu_seconds(pid), time.perf_counter()
            times, flows, errors = asyncio.run(drive(url, args.sessions, args.rounds, args.think))
            cpu, wall = cpu_seconds(pid) - cpu0, time.perf_counter() - wall0
            rss1 = rss_mb(pid)
            time.sleep(20)  # the sessions' TTL, then their memory handed back
            rss2 = rss_mb(pid)
    client = resource.getrusage(resource.RUSAGE_SELF)
    for e in errors:
        print(e)
    print(
        f"{args.app_dir} · {args.sessions} sessions × {args.rounds} rounds · think {args.think} s "
        f"· {flows} flows · {len(errors)} errors · {wall:.0f} s"
    )
    print(f"{'step':28} {'n':>5} {'p50 s':>7} {'p95 s':>7} {'max s':>7}")
    for name in sorted(times):
        xs = sorted(times[name])
        p95 = xs[min(len(xs) - 1, round(0.95 * (len(xs) - 1)))]
        print(f"{name:28} {len(xs):5} {statistics.median(xs):7.2f} {p95:7.2f} {xs[-1]:7.2f}")
    print(
        f"server CPU: {cpu:.1f} s in {wall:.0f} s, {cpu / max(flows, 1):.2f} s per flow; "
        f"RSS {rss0:.0f} MB before, {rss1:.0f} MB after, {rss2:.0f} MB once the sessions ended; "
        f"this client: {client.ru_utime + client.ru_stime:.1f} CPU s"
    )


if __name__ == "__main__":
    main()
