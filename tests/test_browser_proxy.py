"""Several app processes behind HAProxy (`bash scripts/serve.sh N`, docs/operations.md), in
Chromium through the real proxy: each browser stays on one process, its websocket and its uploads
alike, and stopping the script stops every process it started."""

from __future__ import annotations

import re
import signal
import time
import urllib.request

import psutil
import pytest
from playwright.sync_api import expect

from tests.fixtures.browser import (
    add_drug,
    app_page,
    enter_quantity,
    screenshot,
    served_behind_proxy,
    wait_idle,
)
from tests.fixtures.paths import ROOT

pytestmark = pytest.mark.browser

HEADER = "claim_id,product_id,channel,quantity,concomitant_drugs\n"
# Each browser's own claims file, told apart by its size and its counts.
CLAIMS = {
    "a": HEADER
    + "a1,imatinib-400mg-tab,retail,30,\n"
    + "a2,imatinib-400mg-tab,retail,120,rifampin\n"
    + "a3,imatinib-400mg-tab,retail,200,\n"
    + "a4,imatinib-400mg-tab,home_delivery,300,rifampin\n",
    "b": HEADER + "b1,imatinib-400mg-tab,retail,30,\n" + "b2,imatinib-400mg-tab,retail,200,\n",
}
COUNTS = {  # decision -> claims, as `dqm decide` decides each file
    "a": {"approve": "1", "override": "2", "deny": "1", "not_applicable": "0", "invalid": "0"},
    "b": {"approve": "1", "override": "0", "deny": "1", "not_applicable": "0", "invalid": "0"},
}


def server_id(context) -> str:
    """The process HAProxy put this browser on: its SERVERID cookie."""
    return next(c["value"] for c in context.cookies() if c["name"] == "SERVERID")


def uploads_held(port: int) -> int:
    """The bytes of uploaded files the app process on `port` holds (Streamlit's own metrics)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/metrics", timeout=10) as r:
        text = r.read().decode()
    found = re.search(r'cache_type="UploadedFileManager"[^}]*\} (\d+)', text)
    return int(found.group(1)) if found else 0


def app_ports(apps: list[int]) -> list[int]:
    return [
        next(c.laddr.port for c in psutil.Process(pid).net_connections() if c.status == "LISTEN")
        for pid in apps
    ]


def decide_one_claim(page) -> None:
    page.get_by_role("combobox", name="Product").click()
    page.get_by_role("option", name="imatinib-400mg-tab").first.click()
    wait_idle(page)
    page.get_by_test_id("stRadio").get_by_text("Retail", exact=True).click()
    wait_idle(page)
    enter_quantity(page, "120")
    add_drug(page, "rifampin")


def approved(page):
    return (
        page.get_by_test_id("stMetric")
        .filter(has_text="Approved quantity")
        .get_by_test_id("stMetricValue")
    )


def upload_and_decide(page, path) -> None:
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Batch").click()
    wait_idle(page)
    page.get_by_test_id("stFileUploader").filter(has_text="Claims CSV").get_by_test_id(
        "stFileUploaderDropzoneInput"
    ).set_input_files(str(path))
    wait_idle(page)
    expect(page.get_by_test_id("stMain")).to_contain_text(f"Starting from claims from {path.name}")
    page.get_by_role("button", name="Decide all").click()
    wait_idle(page)


def counts(page) -> dict[str, str]:
    metrics = page.get_by_test_id("stMain").get_by_test_id("stMetric")
    return {
        m.get_by_test_id("stMetricLabel").inner_text(): m.get_by_test_id(
            "stMetricValue"
        ).inner_text()
        for m in metrics.all()
    }


def test_two_browsers_stay_each_on_its_own_process_for_the_page_and_the_upload(
    browser, tmp_path, exports_copy
):
    with served_behind_proxy(2, exports_copy, tmp_path / "serve.log") as url:
        ports = app_ports(url.apps)
        contexts = {k: browser.new_context(viewport={"width": 1400, "height": 2000}) for k in "ab"}
        pages = {k: app_page(context, url) for k, context in contexts.items()}
        # The second browser goes to the process with fewer open websockets: the other one.
        on = {k: server_id(context) for k, context in contexts.items()}
        assert sorted(on.values()) == ["app1", "app2"]

        for page in pages.values():
            decide_one_claim(page)
        for page in pages.values():
            expect(approved(page)).to_have_text("90")
            assert page.get_by_test_id("stException").count() == 0

        # An upload is a PUT to /_stcore/upload_file/<session>/<file>: a process that does not
        # hold the session refuses it, so each decides only if the proxy sent it home.
        for k, page in pages.items():
            path = tmp_path / f"claims-{k}.csv"
            path.write_text(CLAIMS[k])
            upload_and_decide(page, path)
        for k, page in pages.items():
            main = page.get_by_test_id("stMain")
            expect(main.get_by_role("heading", name=re.compile(r"decisions by"))).to_have_text(
                f"{len(CLAIMS[k].splitlines()) - 1} decisions by oncology-dqm, each claim by the "
                "version in effect on its date of service"
            )
            assert counts(page) == COUNTS[k]
            assert page.get_by_test_id("stException").count() == 0
            screenshot(page, f"proxy-batch-{k}")
        # Each process holds exactly its own browser's file.
        held = {f"app{i}": uploads_held(port) for i, port in enumerate(ports, 1)}
        assert held == {on[k]: len(CLAIMS[k].encode()) for k in "ab"}
        for context in contexts.values():
            context.close()


def forks(process: psutil.Process) -> bool:
    return "multiprocessing.forkserver" in " ".join(process.cmdline())


def test_stopping_the_script_stops_every_process_it_started(browser, tmp_path, exports_copy):
    with served_behind_proxy(2, exports_copy, tmp_path / "serve.log") as url:
        context = browser.new_context()
        app_page(context, url)  # a first run: the app starts its draft checker's fork server
        context.close()
        script = psutil.Process(url.script.pid)
        deadline = time.monotonic() + 60  # the fork server starts in the background
        while not any(forks(p) for p in script.children(recursive=True)):
            assert time.monotonic() < deadline, "no fork server started"
            time.sleep(0.5)
        started = script.children(recursive=True)
        assert {p.pid for p in script.children()} == {*url.apps, url.haproxy}
        url.script.send_signal(signal.SIGTERM)  # to the script alone, as a service manager would
        assert url.script.wait(timeout=60) == 128 + signal.SIGTERM
        gone, alive = psutil.wait_procs(started, timeout=30)
        assert alive == []
        assert len(gone) == len(started)


def test_the_browser_tier_needs_haproxy(pytester, monkeypatch, tmp_path):
    """On a PATH without haproxy, a browser test is skipped with the reason, and fails under
    DQM_ALL_TIERS=1 (Chromium and playwright are here: this test is of their tier)."""
    pytester.makepyfile(
        test_suite="import pytest\n\n@pytest.mark.browser\ndef test_page():\n    pass\n"
    )
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    reason = (
        "haproxy is not installed: the browser tier needs Debian's haproxy "
        "(scripts/setup.sh installs it)"
    )
    monkeypatch.delenv("DQM_ALL_TIERS", raising=False)
    skipped = pytester.runpytest_subprocess("-p", "tests.fixtures.tiers", "-ra", "test_suite.py")
    skipped.assert_outcomes(skipped=1)
    skipped.stdout.fnmatch_lines([f"SKIPPED * {reason}"])
    monkeypatch.setenv("DQM_ALL_TIERS", "1")
    failed = pytester.runpytest_subprocess("-p", "tests.fixtures.tiers", "-ra", "test_suite.py")
    failed.assert_outcomes(errors=1)
    failed.stdout.fnmatch_lines([f"*{reason}. DQM_ALL_TIERS=1 runs every tier."])
