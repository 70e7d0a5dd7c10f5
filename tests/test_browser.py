"""The reviewer app in a real browser: `streamlit run app.py` and Debian's Chromium, used as a
person would. Screenshots of every page land in /tmp/dqm-screens/ (or $DQM_SCREENS)."""

from __future__ import annotations

import shutil
from collections import Counter

import pytest
from playwright.sync_api import expect

from compiler.ruleset.store import Store
from tests.fixtures.browser import (
    add_drug,
    app_page,
    enter_quantity,
    screenshot,
    streamlit_server,
    wait_idle,
)
from tests.fixtures.paths import EXPORTS

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser")
    exports = root / "exports"
    shutil.copytree(EXPORTS, exports, ignore=shutil.ignore_patterns(".lock"))
    with streamlit_server(exports, root / "streamlit.log") as url:
        yield url


@pytest.fixture
def page(browser, app_url):
    # Tall enough that a full-page screenshot holds the whole page (Streamlit scrolls inside).
    context = browser.new_context(viewport={"width": 1400, "height": 2000})
    yield app_page(context, app_url)
    context.close()


def choose(page, combobox: str, option: str, where=None) -> None:
    """Open a select box by its label and click the option whose text starts with `option`."""
    (where or page).get_by_role("combobox", name=combobox).click()
    page.get_by_role("option", name=option).first.click()
    wait_idle(page)


def metric(page, label: str):
    """The value of the metric with this label (a locator: `expect` retries until a rerun lands)."""
    return page.get_by_test_id("stMetric").filter(has_text=label).get_by_test_id("stMetricValue")


def open_page(page, link: str, heading: str | None = None) -> None:
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=link).click()
    wait_idle(page)
    page.get_by_role("heading", name=heading or link).first.wait_for()


def no_exceptions(page) -> None:
    assert page.get_by_test_id("stException").count() == 0, page.get_by_test_id(
        "stException"
    ).all_inner_texts()


def test_reviewer_reads_override_90_for_rifampin_at_120_retail(page):
    choose(page, "Version", "v3 ·", where=page.get_by_test_id("stSidebar"))
    page.get_by_test_id("stRadio").get_by_text("oncology-dqm v3, chosen in the sidebar").click()
    wait_idle(page)
    choose(page, "Product", "imatinib-400mg-tab")
    page.get_by_test_id("stRadio").get_by_text("Retail", exact=True).click()
    wait_idle(page)
    enter_quantity(page, "120")
    add_drug(page, "rifampin")

    main = page.get_by_test_id("stMain")
    expect(main.get_by_role("heading", name="Override")).to_have_count(1)
    expect(metric(page, "Approved quantity")).to_have_text("90")
    expect(metric(page, "Limit")).to_have_text("60")
    expect(metric(page, "Reject code")).to_have_text("76")
    expect(metric(page, "Approval months")).to_have_text("12")
    expect(main).to_contain_text("Matched drugs: rifampin")
    expect(main.get_by_text("Decided by oncology-dqm v3.", exact=True)).to_have_count(1)
    page.get_by_test_id("stVegaLiteChart").wait_for()  # drawn after the script run ends
    assert page.get_by_test_id("stVegaLiteChart").count() == 1
    no_exceptions(page)
    screenshot(page, "1-one-claim")


def test_reviewer_uploads_a_workbook_with_sixty_in_a_limit_cell_and_reads_that_cell(
    page, founding_rows, make_workbook
):
    founding_rows["Limits"][1][4] = "sixty"  # imatinib-400mg-tab, Retail Max Qty
    workbook = make_workbook(founding_rows)
    open_page(page, "Draft workbook")
    expect(page.get_by_test_id("stFileUploader")).to_contain_text("10MB per file")
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(workbook))
    page.get_by_test_id("stTable").wait_for()
    wait_idle(page)
    row = page.get_by_test_id("stTable").locator("tr").filter(has_text="E3")
    expect(row).to_have_count(1)
    cells = [c.strip() for c in row.locator("th, td").all_inner_texts()]
    assert cells == [
        "error",
        "Limits",
        "E3",
        "Retail Max Qty",
        "sixty",
        "'Retail Max Qty' must be a number. Type a number such as 60, in digits.",
    ]
    assert (
        "1 error(s), 0 warning(s). It would not compile"
        in page.get_by_test_id("stAlert").first.inner_text()
    )
    no_exceptions(page)
    screenshot(page, "4-draft-findings")


def test_a_valid_draft_previews_its_impact_without_publishing(page, founding_rows, make_workbook):
    rows = founding_rows
    rows["Limits"][1][4] = 75  # imatinib-400mg-tab retail limit 60 -> 75
    rows["Policies"][0][3] = rows["History"][-1][3].replace(year=2027)
    rows["History"].append(
        [
            "imatinib-per-rx",
            "Revision",
            "Retail limit for 400 mg raised to 75.",
            rows["Policies"][0][3],
        ]
    )
    rows["Tests"] = [
        t
        for t in rows["Tests"]
        if not (t[1] == "imatinib-400mg-tab" and t[2] == "Retail" and 60 < t[3] <= 75)
    ]
    rows["Tests"].append(
        [
            "400-retail-70",
            "imatinib-400mg-tab",
            "Retail",
            70,
            None,
            None,
            "Approve",
            70,
            "Under the raised limit.",
        ]
    )
    open_page(page, "Draft workbook")
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(
        str(make_workbook(rows, "draft.xlsx"))
    )
    main = page.get_by_test_id("stMain")
    expect(main).to_contain_text("draft.xlsx compiles: ruleset oncology-dqm", timeout=30_000)
    expect(main).to_contain_text("imatinib-400mg-tab: Retail Max Qty per Rx 60 → 75")
    expect(main).to_contain_text(
        f"1 of {len(rows['Tests'])} claims changes decision or approved quantity."
    )
    no_exceptions(page)
    screenshot(page, "4b-draft-valid")


def test_batch_page_decides_the_workbook_tests(page):
    open_page(page, "Batch")
    page.get_by_role("button", name="Decide all").click()
    wait_idle(page)
    tests = Store(EXPORTS).load("oncology-dqm", 4)["tests"]
    expected = Counter(t["expected_decision"] for t in tests)
    # The Tests have no date of service: the latest version decides each.
    page.get_by_text(
        f"{len(tests)} decisions by oncology-dqm, each claim by the version in effect on its "
        "date of service"
    ).wait_for()
    expect(page.get_by_text(f"Versions that decided: v4 ({len(tests)})")).to_have_count(1)
    for decision in ("approve", "override", "deny"):
        expect(metric(page, decision)).to_have_text(str(expected[decision]))
    no_exceptions(page)
    screenshot(page, "2-batch")


def test_compare_page_lists_changes_and_impact(page):
    open_page(page, "Compare versions")
    choose(page, "Before", "v1 ·")
    main = page.get_by_test_id("stMain")
    page.get_by_text("Changes (17)").wait_for()  # v1 -> v4: dates, 12 codes, 3 History rows
    n = len(Store(EXPORTS).load("oncology-dqm", 4)["tests"])
    expect(
        main.get_by_text(f"No claim changes decision or approved quantity ({n} compared).")
    ).to_have_count(1)
    no_exceptions(page)
    screenshot(page, "3-compare")


def test_history_page_shows_the_timeline(page):
    open_page(page, "History", "History of oncology-dqm")
    main = page.get_by_test_id("stMain")
    main.get_by_role("heading", level=4).nth(2).wait_for()  # a loaded VM draws them one by one
    headings = [h.strip() for h in main.get_by_role("heading", level=4).all_inner_texts()]
    assert headings == ["v4", "v3", "v2", "v1"]
    assert "In effect from 2025-12-08; imatinib-per-rx reviewed 2026-12-01" in main.inner_text()
    text = main.inner_text()
    assert text.count("Annual Revision: No criteria changes.") == 3
    page.get_by_test_id("stVegaLiteChart").wait_for()  # drawn after the script run ends
    assert page.get_by_test_id("stVegaLiteChart").count() == 1
    no_exceptions(page)
    screenshot(page, "5-history")


def test_reviewer_enters_an_ndc_and_a_date_and_reads_the_decision_and_the_version(page):
    main = page.get_by_test_id("stMain")
    day = page.get_by_role("textbox", name="Date of service")
    day.fill("2024-06-01")
    day.press("Enter")
    wait_idle(page)
    page.get_by_test_id("stRadio").get_by_text("NDC", exact=True).click()
    wait_idle(page)
    ndc = page.get_by_role("textbox", name="NDC")
    ndc.fill("47335-472-83")
    ndc.press("Enter")
    wait_idle(page)
    # On 2024-06-01 v1 is in effect; it lists no codes, so the NDC names its product through v4,
    # and v1's limit decides (60 asked, the default, within v1's 180 for 100 mg).
    expect(
        main.get_by_text(
            "On 2024-06-01 the version of oncology-dqm in effect is v1 (in effect from 2023-12-13)."
        )
    ).to_have_count(1)
    expect(main.get_by_role("heading", name="Approve")).to_have_count(1)
    expect(main).to_contain_text(
        "is imatinib-100mg-tab: Sun Pharma, bottle of 30 (the code as v4 lists it; v1 lists no "
        "product codes)."
    )
    expect(main.get_by_text("Decided by oncology-dqm v1.", exact=True)).to_have_count(1)
    day.fill("2026-03-02")
    day.press("Enter")
    wait_idle(page)
    enter_quantity(page, "181")
    expect(
        main.get_by_text(
            "On 2026-03-02 the version of oncology-dqm in effect is v4 (in effect from 2025-12-08)."
        )
    ).to_have_count(1)
    expect(main.get_by_role("heading", name="Deny")).to_have_count(1)
    expect(metric(page, "Limit")).to_have_text("180")
    expect(main).to_contain_text("is imatinib-100mg-tab: Sun Pharma, bottle of 30.")
    expect(main.get_by_text("Decided by oncology-dqm v4.", exact=True)).to_have_count(1)
    no_exceptions(page)
    screenshot(page, "1b-one-claim-by-ndc")
