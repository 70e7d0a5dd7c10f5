"""Capacity: N reviewers at once on one `streamlit run app.py`, each in its own browser session
(N Playwright contexts in one headless Chromium, Debian's), going through the One claim flow
(open the app, choose the 400 mg product, Home Delivery, quantity 120, add rifampin) and the
Batch flow (open Batch, Decide all) ROUNDS times. Prints p50/p95 per step over all sessions, the
server's CPU seconds per flow (utime+stime from /proc/<pid>/stat) and its RSS before and after.

    .venv/bin/python benchmarks/bench_capacity.py [--sessions 20] [--rounds 3] [--think 0.5]
        [--app-dir DIR]   # another checkout's app.py (e.g. the commit before, side by side)

A step is timed in the page from the interaction to the end of the script run it causes: a
MutationObserver logs every change of the app's data-test-script-state, and the step ends at the
first `notRunning` after the state left it. `--think` seconds pass between a session's steps (a
person reads the page); 0 makes it a stress test. Recorded figures: benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.async_api import async_playwright  # noqa: E402

from tests.fixtures.browser import CHROMIUM, CHROMIUM_ARGS, streamlit_server  # noqa: E402

STATES = """
window.__dqmStates = [];
new MutationObserver((records) => {
  for (const r of records) {
    window.__dqmStates.push([performance.now(), r.target.getAttribute('data-test-script-state')]);
  }
}).observe(document, {subtree: true, attributes: true, attributeFilter: ['data-test-script-state']});
"""
RUN_ENDED = """t0 => {
  let left = false;
  for (const [t, s] of window.__dqmStates) {
    if (t < t0) continue;
    if (s !== 'notRunning') left = true;
    else if (left) return t;
  }
  return false;
}"""
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
PRODUCT = "Gleevec® (imatinib tablets, generic), 400 mg tablets (imatinib-400mg-tab)"


class Session:
    def __init__(self, page, think: float, times: dict[str, list[float]]):
        self.page, self.think, self.times = page, think, times

    async def step(self, name: str, action) -> None:
        """Do `action`, then wait for the script run it causes to end; record the milliseconds."""
        t0 = await self.page.evaluate("performance.now()")
        await action()
        ended = await self.page.wait_for_function(RUN_ENDED, arg=t0, timeout=120_000)
        self.times.setdefault(name, []).append((await ended.json_value() - t0) / 1000)
        await asyncio.sleep(self.think)

    async def open_app(self, url: str) -> None:
        started = time.perf_counter()
        await self.page.goto(url)
        await self.page.wait_for_selector(IDLE, timeout=120_000)
        await self.page.get_by_test_id("stMetric").first.wait_for(timeout=120_000)
        self.times.setdefault("1 open the app (One claim)", []).append(
            time.perf_counter() - started
        )
        await asyncio.sleep(self.think)

    async def claim_flow(self, url: str) -> None:
        page = self.page
        await self.open_app(url)

        async def product():
            await page.get_by_role("combobox", name="Product").click()
            await page.get_by_role("option", name=PRODUCT).first.click()

        await self.step("2 choose the product", product)
        await self.step(
            "3 choose Home Delivery",
            lambda: page.get_by_test_id("stRadio").get_by_text("Home Delivery").click(),
        )

        async def quantity():
            box = page.get_by_label("Quantity requested")
            await box.fill("300")
            await box.press("Enter")

        await self.step("4 type quantity 300", quantity)

        async def drug():
            box = page.get_by_role("combobox", name="Concomitant drugs")
            await box.click()
            await box.press_sequentially("rifampin")
            await box.press("Enter")

        await self.step("5 add rifampin", drug)
        await page.keyboard.press("Escape")
        value = page.get_by_test_id("stMetric").filter(has_text="Approved quantity")
        text = await value.get_by_test_id("stMetricValue").inner_text()
        if text.strip() != "270":  # home delivery, an inducer: override capped at 270
            raise AssertionError(f"One claim flow ended with approved quantity {text!r}")

    async def batch_flow(self) -> None:
        page = self.page

        async def open_batch():
            await page.get_by_test_id("stSidebarNav").get_by_role("link", name="Batch").click()

        await self.step("6 open Batch", open_batch)
        await self.step(
            "7 Decide all", lambda: page.get_by_role("button", name="Decide all").click()
        )
        await page.get_by_text("decisions by oncology-dqm v3").first.wait_for(timeout=60_000)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def run(url: str, sessions: int, rounds: int, think: float) -> tuple[dict, int, int]:
    times: dict[str, list[float]] = {}
    errors: list[str] = []
    flows = 0
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)

        async def reviewer(i: int) -> None:
            nonlocal flows
            context = await browser.new_context(viewport={"width": 1280, "height": 1600})
            await context.add_init_script(STATES)
            page = await context.new_page()
            page.set_default_timeout(120_000)
            session = Session(page, think, times)
            try:
                for _ in range(rounds):
                    await session.claim_flow(url)
                    await session.batch_flow()
                    flows += 2
            except Exception as exc:  # counted and shown; the others go on
                errors.append(f"session {i}: {type(exc).__name__}: {str(exc).splitlines()[0]}")
            finally:
                await context.close()

        await asyncio.gather(*(reviewer(i) for i in range(sessions)))
        await browser.close()
    for e in errors:
        print(e)
    return times, flows, len(errors)


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
        log = Path(tmp) / "streamlit.log"
        with streamlit_server(exports, log, app_dir=args.app_dir) as url:
            pid = url.pid
            rss0, cpu0, wall0 = rss_mb(pid), cpu_seconds(pid), time.perf_counter()
            times, flows, errors = asyncio.run(run(url, args.sessions, args.rounds, args.think))
            cpu, wall = cpu_seconds(pid) - cpu0, time.perf_counter() - wall0
            rss1 = rss_mb(pid)
    print(
        f"{args.app_dir} · {args.sessions} sessions × {args.rounds} rounds · think {args.think} s "
        f"· {flows} flows · {errors} errors · {wall:.0f} s"
    )
    print(f"{'step':32} {'n':>5} {'p50 s':>7} {'p95 s':>7} {'max s':>7}")
    for name in sorted(times):
        xs = sorted(times[name])
        p95 = xs[min(len(xs) - 1, round(0.95 * (len(xs) - 1)))]
        print(f"{name:32} {len(xs):5} {statistics.median(xs):7.2f} {p95:7.2f} {xs[-1]:7.2f}")
    print(
        f"server CPU: {cpu:.1f} s, {cpu / max(flows, 1):.2f} s per flow; "
        f"RSS {rss0:.0f} MB → {rss1:.0f} MB"
    )


if __name__ == "__main__":
    main()
