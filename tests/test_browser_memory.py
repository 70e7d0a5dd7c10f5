"""What reviewers' sessions held goes back when they end, in Chromium against a real server:
browsers that upload a claims file on Batch, decide it and close all at once. Streamlit forgets
such sessions without shutting them down (only a later disconnect reaps them); the app shuts them
down itself (app_pages/sessions.py)."""

from __future__ import annotations

import re
import time
import urllib.request
from pathlib import Path

import pytest

from tests.fixtures.browser import (
    app_page,
    rss_mb,
    settled_rss,
    streamlit_server,
    wait_idle,
)

pytestmark = pytest.mark.browser

# Sessions are dropped 2 s after their tab closes; the app's janitor looks every 10 s.
OPTIONS = ("--server.disconnectedSessionTTL", "2")


def claims_csv(path: Path, size: int) -> Path:
    """A claims file of about `size` bytes."""
    lines, n = ["product_id,channel,quantity,concomitant_drugs\n"], 0
    total = len(lines[0])
    while total < size:
        line = f"imatinib-400mg-tab,retail,{30 + n % 120},rifampin\n"
        lines.append(line)
        total += len(line)
        n += 1
    path.write_text("".join(lines))
    return path


def reviewer(browser, url: str, claims: Path):
    """A reviewer who uploads `claims` on Batch and decides them; the context, left open."""
    context = browser.new_context(viewport={"width": 1200, "height": 1600})
    page = app_page(context, url, timeout=120_000)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Batch").click()
    wait_idle(page)
    page.get_by_test_id("stFileUploader").filter(has_text="Claims CSV").get_by_test_id(
        "stFileUploaderDropzoneInput"
    ).set_input_files(str(claims))
    page.get_by_text("decided as uploaded").wait_for()
    wait_idle(page)
    page.get_by_role("button", name="Decide all").click()
    page.get_by_text(re.compile(r"^[\d,]+ decisions by")).wait_for()
    wait_idle(page)
    return context


def metrics(url: str) -> dict[str, int]:
    """Streamlit's own figures: active sessions and the bytes of uploads it holds."""
    with urllib.request.urlopen(f"{url}/_stcore/metrics", timeout=10) as r:
        text = r.read().decode()
    uploads = re.search(r'cache_type="UploadedFileManager"[^}]*\} (\d+)', text)
    active = re.search(r"^active_sessions (\d+)", text, re.MULTILINE)
    return {
        "active_sessions": int(active.group(1)) if active else 0,
        "upload_bytes": int(uploads.group(1)) if uploads else 0,
    }


def once_ended(url: str, seconds: float = 90) -> dict[str, int]:
    """The metrics once no upload is held any more, or after `seconds` (the sessions' TTL, then
    the janitor's round)."""
    deadline = time.monotonic() + seconds
    now = metrics(url)
    while now["upload_bytes"] and time.monotonic() < deadline:
        time.sleep(1)
        now = metrics(url)
    return now


def test_sessions_that_close_together_leave_no_upload_behind(browser, tmp_path, exports_copy):
    claims = claims_csv(tmp_path / "claims.csv", 200_000)
    with streamlit_server(exports_copy, tmp_path / "streamlit.log", options=OPTIONS) as url:
        contexts = [reviewer(browser, url, claims) for _ in range(3)]
        held = metrics(url)
        assert held == {"active_sessions": 3, "upload_bytes": 3 * claims.stat().st_size}
        for context in contexts:  # together: no later disconnect reaps the earlier ones
            context.close()
        assert once_ended(url) == {"active_sessions": 0, "upload_bytes": 0}


@pytest.mark.timing  # RSS, as measured on this machine
def test_sixteen_sessions_of_9_mb_uploads_give_their_memory_back(browser, tmp_path, exports_copy):
    claims = claims_csv(tmp_path / "claims.csv", 9_000_000)  # the page's limit is 10 MB
    with streamlit_server(exports_copy, tmp_path / "streamlit.log", options=OPTIONS) as url:
        reviewer(browser, url, claims).close()  # warm: every module imported, caches filled
        assert once_ended(url) == {"active_sessions": 0, "upload_bytes": 0}
        baseline = settled_rss(url.pid, wait=15)
        contexts = [reviewer(browser, url, claims) for _ in range(16)]
        held = rss_mb(url.pid)
        for context in contexts:
            context.close()
        assert once_ended(url) == {"active_sessions": 0, "upload_bytes": 0}
        after = settled_rss(url.pid, wait=15)
    assert after - baseline < 100, (
        f"baseline {baseline:.0f} MB, {held:.0f} MB held by 16 sessions, {after:.0f} MB after"
    )
