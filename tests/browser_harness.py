"""The real-browser tier's harness: `streamlit run app.py` on a free port as a subprocess, and
Debian's Chromium driven by Playwright (`playwright install` cannot download here)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENS = Path(os.environ.get("DQM_SCREENS", "/tmp/dqm-screens"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerDied(RuntimeError):
    pass


@contextlib.contextmanager
def streamlit_server(exports: Path, log_path: Path, timeout: float = 90) -> Iterator[str]:
    """The app served on 127.0.0.1:<free port> over `exports`; yields its URL, stops it after."""
    port = free_port()
    env = {**os.environ, "DQM_EXPORTS": str(exports), "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.address", "127.0.0.1",
             "--server.port", str(port), "--server.headless", "true",
             "--server.fileWatcherType", "none"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(proc, url, log_path, timeout)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_healthy(proc: subprocess.Popen, url: str, log_path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServerDied(f"streamlit exited with {proc.returncode}; its log:\n{log_path.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise ServerDied(f"streamlit did not answer {url}/_stcore/health in {timeout:.0f}s; its log:\n"
                     f"{log_path.read_text()}")


def wait_idle(page, timeout: float = 30_000) -> None:
    """Connected, and the script has finished its run (after any interaction)."""
    page.wait_for_selector("[data-testid='stApp'][data-test-connection-state='CONNECTED']", timeout=timeout)
    # A rerun may start a moment after the interaction: let it begin, then wait for it to end.
    page.wait_for_timeout(300)
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=timeout)


def screenshot(page, name: str) -> Path:
    SCREENS.mkdir(parents=True, exist_ok=True)
    path = SCREENS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
