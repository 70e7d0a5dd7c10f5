"""The review loop in a real browser (Chromium), where only a browser shows it: Enter in the date
box applies the date, the sidebar's version box shows its whole text, an empty NDC box asks for
one, a Batch row opens in One claim, and Compare's changed claims download as CSV."""

from __future__ import annotations

import csv

import pytest
from playwright.sync_api import expect

from compiler.decide.impact import IMPACT_COLUMNS
from tests.fixtures.browser import download as click_download
from tests.fixtures.browser import screenshot, wait_idle
from tests.test_browser import app_url, metric, no_exceptions, open_page, page

__all__ = ["app_url", "page"]  # the fixtures, used by name (browser: conftest.py)

pytestmark = pytest.mark.browser

CODED = (
    "claim_id,ndc,rxcui,product_id,channel,quantity,date_of_service,concomitant_drugs\n"
    "n1,47335-475-83,,,retail,120,2026-03-02,Rifadin\n"
    "r1,,403878,,Home Delivery,180,20260302,\n"
    "p1,,,imatinib-400mg-tab,retail,61,2026-03-02,\n"
)


def in_effect(page, text: str):
    return page.get_by_test_id("stMain").get_by_text(text, exact=True)


def test_enter_in_the_date_box_applies_the_date(page):
    day = page.get_by_role("textbox", name="Date of service")
    day.fill("2024-06-01")
    day.press("Enter")  # and nothing else: no Escape, no click elsewhere
    wait_idle(page)
    expect(
        in_effect(
            page,
            "On 2024-06-01 the version of oncology-dqm in effect is v1 (in effect from 2023-12-13).",
        )
    ).to_have_count(1)
    day.fill("20260302")
    day.press("Enter")
    wait_idle(page)
    expect(
        in_effect(
            page,
            "On 2026-03-02 the version of oncology-dqm in effect is v4 (in effect from 2025-12-08).",
        )
    ).to_have_count(1)
    no_exceptions(page)


def whole(box) -> bool:
    """Whether a select box shows all of its value (text wider than the box is cut off)."""
    return box.evaluate("e => e.scrollWidth <= e.clientWidth")


def test_the_sidebars_version_box_and_the_product_box_show_their_whole_text(page):
    version = page.get_by_test_id("stSidebar").get_by_role("combobox", name="Version")
    expect(version).to_have_value("v4 · in effect from 2025-12-08")
    assert whole(version)
    product = page.get_by_role("combobox", name="Product")
    expect(product).to_have_value("imatinib-100mg-tab")
    assert whole(product)
    expect(page.get_by_test_id("stMain")).to_contain_text(
        "Gleevec® (imatinib tablets, generic), 100 mg tablets"
    )
    screenshot(page, "6-sidebar-version")


def test_choosing_ndc_with_an_empty_box_asks_for_one(page):
    main = page.get_by_test_id("stMain")
    page.get_by_test_id("stRadio").get_by_text("NDC", exact=True).click()
    wait_idle(page)
    expect(main.get_by_text("Type the claim's NDC to decide it.", exact=True)).to_have_count(1)
    expect(main.get_by_role("heading", name="Invalid claim")).to_have_count(0)
    no_exceptions(page)


def upload_claims(page, tmp_path) -> None:
    path = tmp_path / "claims.csv"
    path.write_text(CODED)
    open_page(page, "Batch")
    claims_uploader(page).set_input_files(str(path))
    wait_idle(page)
    expect(page.get_by_test_id("stMain")).to_contain_text("Starting from claims from claims.csv")


def test_a_batch_row_opens_in_one_claim(page, tmp_path):
    upload_claims(page, tmp_path)
    page.get_by_role("button", name="Decide all").click()
    wait_idle(page)
    page.get_by_role("combobox", name="Open a claim in One claim, to see why").click()
    page.get_by_role("option", name="n1", exact=True).click()
    wait_idle(page)
    page.get_by_role("button", name="Open in One claim").click()
    wait_idle(page)
    main = page.get_by_test_id("stMain")
    expect(main.get_by_role("heading", name="One claim")).to_have_count(1)
    expect(main).to_contain_text("Claim n1 from the Batch page.")
    expect(page.get_by_role("textbox", name="NDC")).to_have_value("47335-475-83")
    expect(page.get_by_role("textbox", name="Date of service")).to_have_value("2026-03-02")
    expect(main.get_by_role("heading", name="Override")).to_have_count(1)
    expect(metric(page, "Approved quantity")).to_have_text("90")
    no_exceptions(page)
    screenshot(page, "7-opened-from-batch")


def test_compare_downloads_the_changed_claims_as_csv(page, tmp_path):
    upload_claims(page, tmp_path)
    open_page(page, "Compare versions")
    page.get_by_role("combobox", name="Before").click()
    page.get_by_role("option", name="v3 ·").first.click()
    wait_idle(page)
    main = page.get_by_test_id("stMain")
    expect(main).to_contain_text("2 of 3 claims change decision or approved quantity.")
    download = click_download(page, "Download the changed claims (CSV)")
    assert download.suggested_filename == "impact-oncology-dqm-v3-v4.csv"
    with open(download.path(), encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == IMPACT_COLUMNS
    assert [r[:8] for r in rows[1:]] == [
        ["n1", "", "imatinib-400mg-tab", "47335-475-83", "", "retail", "120", "2026-03-02"],
        ["r1", "", "imatinib-100mg-tab", "", "403878", "home_delivery", "180", "2026-03-02"],
    ]
    no_exceptions(page)
    screenshot(page, "8-compare-changed")


def test_a_row_selected_in_the_batch_table_is_the_claim_to_open(page, tmp_path):
    upload_claims(page, tmp_path)
    page.get_by_role("button", name="Decide all").click()
    wait_idle(page)
    grid = page.get_by_test_id("stDataFrame").last
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    # The row marker (a checkbox left of the first column) of the second row, r1.
    page.mouse.click(box["x"] + 14, box["y"] + 35 * 2 + 17)
    wait_idle(page)
    pick = page.get_by_role("combobox", name="Open a claim in One claim, to see why")
    expect(pick).to_have_value("r1")
    page.get_by_role("button", name="Open in One claim").click()
    wait_idle(page)
    expect(page.get_by_test_id("stMain")).to_contain_text("Claim r1 from the Batch page.")
    expect(page.get_by_role("textbox", name="RxCUI")).to_have_value("403878")
    expect(metric(page, "Limit")).to_have_text("540")
    no_exceptions(page)


def test_a_checked_draft_is_tried_on_one_claim_and_batch(page, founding_rows, make_workbook):
    from tests.test_app import raise_100mg_home_limit

    workbook = make_workbook(raise_100mg_home_limit(founding_rows), "draft.xlsx")
    open_page(page, "Draft workbook")
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(workbook))
    main = page.get_by_test_id("stMain")
    expect(main).to_contain_text("draft.xlsx compiles", timeout=30_000)
    wait_idle(page)
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_role("combobox", name="Version").click()
    page.get_by_role("option", name="draft draft.xlsx").click()
    wait_idle(page)
    open_page(page, "One claim")
    page.get_by_role("combobox", name="Product").click()
    page.get_by_role("option", name="imatinib-100mg-tab").click()
    wait_idle(page)
    page.get_by_test_id("stRadio").get_by_text("Home Delivery", exact=True).click()
    wait_idle(page)
    quantity = page.get_by_role("textbox", name="Quantity requested")
    quantity.fill("600")
    quantity.press("Enter")
    wait_idle(page)
    expect(main.get_by_role("heading", name="Approve")).to_have_count(1)
    expect(metric(page, "Limit")).to_have_text("600")
    expect(main).to_contain_text("Decided by oncology-dqm draft draft.xlsx")
    open_page(page, "Batch")
    page.get_by_role("button", name="Decide all").click()
    wait_idle(page)
    expect(main).to_contain_text(", 0 fail.")
    no_exceptions(page)
    screenshot(page, "9-draft-batch")


def claims_uploader(page):
    """The Batch page's claims file box (the page has another, for earlier fills)."""
    return (
        page.get_by_test_id("stFileUploader")
        .filter(has_text="Claims CSV")
        .get_by_test_id("stFileUploaderDropzoneInput")
    )
