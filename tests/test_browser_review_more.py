"""More of the review loop in a real browser (Chromium): a pharmacy export with its own column
names read through the Batch page's mapping boxes, decided and downloaded; a changed claim on
Compare versions opened in One claim with each version; and a Per Days claim on One claim with
the member's earlier fills typed into its table."""

from __future__ import annotations

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from compiler.ruleset.compile import compile_workbook
from tests.fixtures import per_days
from tests.fixtures.browser import app_page, enter_quantity, screenshot, streamlit_server, wait_idle
from tests.fixtures.browser import download as click_download
from tests.test_browser import app_url, choose, metric, no_exceptions, open_page, page

__all__ = ["app_url", "page"]  # the fixtures, used by name (browser: conftest.py)

pytestmark = pytest.mark.browser

ROW = 35  # a table row's height in pixels (the header row's too)

EXPORT = (
    "Rx Number,Product,Chan,Qty,Fill Date\n"
    "RX1001,imatinib-400mg-tab,retail,60,2026-03-02\n"
    "RX1002,imatinib-400mg-tab,retail,61,2026-03-02\n"
    "RX1003,imatinib-100mg-tab,retail,30,2026-03-02\n"
)
CODED = (
    "claim_id,ndc,rxcui,product_id,channel,quantity,date_of_service,concomitant_drugs\n"
    "n1,47335-475-83,,,retail,120,2026-03-02,Rifadin\n"
    "r1,,403878,,Home Delivery,180,20260302,\n"
    "p1,,,imatinib-400mg-tab,retail,61,2026-03-02,\n"
)


def exactly(page, text: str):
    """The elements of the page's main area whose whole text is `text`."""
    return page.get_by_test_id("stMain").get_by_text(text, exact=True)


def upload(page, tmp_path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    open_page(page, "Batch")
    page.get_by_test_id("stFileUploaderDropzoneInput").first.set_input_files(str(path))
    wait_idle(page)


def map_column(page, theirs: str, ours: str) -> None:
    """Choose the contract column the file's column `theirs` is read as."""
    box = page.get_by_test_id("stMain").get_by_role("combobox", name=theirs, exact=True)
    option = page.get_by_role("option", name=ours, exact=True)
    for _ in range(5):  # a click while the expander above still opens leaves the list shut
        box.click()
        try:
            option.click(timeout=5_000)
            break
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
            page.wait_for_timeout(500)
    else:
        raise AssertionError(f"the list of {theirs} never offered {ours}")
    wait_idle(page)


def cells(table) -> list[list[str]]:
    """A table's header and rows as text (its accessible copy: the grid itself is drawn)."""
    grid = table.locator("table[role='grid']")
    return [grid.locator("thead th").all_text_contents()] + [
        row.locator("td").all_text_contents() for row in grid.locator("tbody tr").all()
    ]


def select_row(page, table, row: int) -> None:
    """Select a table's row (1 the first) by its row marker, left of the first column."""
    table.scroll_into_view_if_needed()
    box = table.bounding_box()
    page.mouse.click(box["x"] + 14, box["y"] + ROW * row + ROW // 2)
    wait_idle(page)


def test_an_export_with_its_own_column_names_is_mapped_decided_and_downloaded(page, tmp_path):
    upload(page, tmp_path, "rx.csv", EXPORT)
    main = page.get_by_test_id("stMain")
    expect(
        exactly(
            page,
            "rx.csv: The claims file has no product_id, ndc or rxcui column and no channel "
            "column and no quantity column (its header row has: Rx Number, Product, Chan, Qty, "
            "Fill Date); the header row must name channel, quantity and at least one of "
            "product_id, ndc and rxcui.",
        )
    ).to_have_count(1)
    main.get_by_text("Read the file's own columns as claims columns").click()
    for theirs, ours in [("Product", "product_id"), ("Chan", "channel"), ("Qty", "quantity")]:
        map_column(page, theirs, ours)
    note = "rx.csv: ignored column(s) not in the claims contract: Rx Number, Fill Date."
    expect(exactly(page, note)).to_have_count(1)
    expect(main).to_contain_text("Starting from claims from rx.csv")
    map_column(page, "Rx Number", "claim_id")
    map_column(page, "Fill Date", "date_of_service")
    expect(main.get_by_text("ignored column(s) not in the claims contract")).to_have_count(0)
    page.get_by_role("button", name="Decide all").click()
    wait_idle(page)
    expect(
        exactly(
            page,
            "3 decisions by oncology-dqm, each claim by the version in effect on its date of "
            "service",
        )
    ).to_have_count(1)
    expect(exactly(page, "Versions that decided: v4 (3)")).to_have_count(1)
    for decision, n in [
        ("approve", "2"),
        ("override", "0"),
        ("deny", "1"),
        ("not_applicable", "0"),
        ("invalid", "0"),
    ]:
        expect(metric(page, decision)).to_have_text(n)
    decided = main.get_by_test_id("stDataFrame").last
    expect(decided.get_by_test_id("glide-cell-1-2")).to_have_text("RX1003")  # drawn
    assert [[r[0], r[6], r[7]] for r in cells(decided)] == [
        ["claim_id", "decision", "approved_quantity"],
        ["RX1001", "approve", "60"],
        ["RX1002", "deny", "0"],
        ["RX1003", "approve", "30"],
    ]
    download = click_download(page, "Download decisions (CSV)")
    assert download.suggested_filename == "decisions-oncology-dqm-by-date-of-service.csv"
    with open(download.path(), encoding="utf-8", newline="") as f:
        lines = f.read().splitlines()
    assert lines[:4] == [
        '"claim_id","product_id","policy_id","channel","quantity","date_of_service","decision",'
        '"approved_quantity","member_id","limit","accumulated_quantity","period_days",'
        '"criterion_id","matched_drugs","reject_code","approval_months","message","ruleset_id",'
        '"ruleset_version"',
        '"RX1001","imatinib-400mg-tab","imatinib-per-rx","retail","60","2026-03-02","approve",60,'
        ',60,,,,,,,"Within the Retail limit of 60 tablets per Rx.","oncology-dqm",4',
        '"RX1002","imatinib-400mg-tab","imatinib-per-rx","retail","61","2026-03-02","deny",0,,60'
        ',,,,,76,,"Over the Retail limit of 60 tablets per Rx and no override criterion is met: '
        'rejects with code 76.","oncology-dqm",4',
        '"RX1003","imatinib-100mg-tab","imatinib-per-rx","retail","30","2026-03-02","approve",30,'
        ',180,,,,,,,"Within the Retail limit of 180 tablets per Rx.","oncology-dqm",4',
    ]
    assert len(lines) == 4
    no_exceptions(page)
    screenshot(page, "10-batch-mapped-columns")


def decided_by(page, version: int, lines: list[str]) -> None:
    """One claim's explanation, line by line, and the version it names."""
    card = (
        page.get_by_test_id("stMain")
        .get_by_test_id("stExpander")
        .filter(has_text="How this was decided")
    )
    expect(card.get_by_test_id("stText")).to_have_text(
        "\n".join(f"{i}. {line}" for i, line in enumerate(lines, start=1))
    )
    expect(exactly(page, f"Decided by oncology-dqm v{version}.")).to_have_count(1)


def test_a_changed_claim_on_compare_opens_in_one_claim_with_either_version(page, tmp_path):
    upload(page, tmp_path, "claims.csv", CODED)
    open_page(page, "Compare versions")
    main = page.get_by_test_id("stMain")
    expect(page.get_by_role("combobox", name="Before")).to_have_value(
        "v3 · in effect from 2025-12-08"
    )
    expect(exactly(page, "Compared on the claims on the Batch page: v3 against v4.")).to_have_count(
        1
    )
    expect(main).to_contain_text("2 of 3 claims change decision or approved quantity.")
    changed = main.get_by_test_id("stDataFrame").nth(1)  # after the list of changes
    select_row(page, changed, 2)  # r1, the second changed claim
    expect(
        page.get_by_role("combobox", name="Open a claim in One claim, to see why")
    ).to_have_value("r1")
    page.get_by_role("button", name="Open with v4").click()
    wait_idle(page)
    expect(main.get_by_role("heading", name="One claim")).to_have_count(1)
    expect(exactly(page, "Claim r1 from Compare versions (v3 → v4).")).to_have_count(1)
    expect(page.get_by_role("textbox", name="RxCUI")).to_have_value("403878")
    expect(main.get_by_role("heading", name="Approve")).to_have_count(1)
    expect(metric(page, "Approved quantity")).to_have_text("180")
    expect(metric(page, "Limit")).to_have_text("540")
    expect(exactly(page, "Within the Home Delivery limit of 540 tablets per Rx.")).to_have_count(1)
    decided_by(
        page,
        4,
        [
            "Ruleset oncology-dqm v4.",
            "RxCUI '403878' (403878) is imatinib-100mg-tab: imatinib 100 MG Oral Tablet.",
            "Product imatinib-100mg-tab (Gleevec® (imatinib tablets, generic), 100 mg tablets) is "
            "in policy imatinib-per-rx; its Home Delivery limit is 540 tablets per Rx.",
            "180 is within the limit of 540, so no override criterion is needed.",
            "Decision: approve 180 tablets; no reject code.",
        ],
    )
    screenshot(page, "11-compare-opened-v4")

    open_page(page, "Compare versions")
    expect(exactly(page, "Compared on the claims on the Batch page: v3 against v4.")).to_have_count(
        1
    )
    choose(page, "Open a claim in One claim, to see why", "r1")
    page.get_by_role("button", name="Open with v3").click()
    wait_idle(page)
    expect(exactly(page, "Claim r1 from Compare versions (v3 → v4).")).to_have_count(1)
    expect(main.get_by_role("heading", name="Not applicable")).to_have_count(1)
    expect(metric(page, "Approved quantity")).to_have_text("—")
    expect(
        exactly(page, "Ruleset oncology-dqm v3 has no quantity limit for RxCUI '403878'.")
    ).to_have_count(1)
    decided_by(
        page,
        3,
        [
            "Ruleset oncology-dqm v3.",
            "Ruleset oncology-dqm v3 has no quantity limit for RxCUI '403878'.",
        ],
    )
    expect(page.get_by_test_id("stSidebar").get_by_role("combobox", name="Version")).to_have_value(
        "v3 · in effect from 2025-12-08"
    )
    no_exceptions(page)
    screenshot(page, "12-compare-opened-v3")


@pytest.fixture
def per_days_page(browser, exports_copy, make_workbook, tmp_path):
    """The app on a copy of the store with a v5 that adds the sumatriptan Per Days policy."""
    assert compile_workbook(make_workbook(per_days.rows()), exports_copy).outcome.version == 5
    with streamlit_server(exports_copy, tmp_path / "streamlit.log") as url:
        context = browser.new_context(viewport={"width": 1400, "height": 2000})
        yield app_page(context, url)
        context.close()


def type_cell(page, table, column: int, row: int, x: float, text: str) -> None:
    """Type `text` into a cell of an editable table (column and row 1 the first, the column `x`
    pixels from the table's left edge): a double click opens the cell's editor, Enter keeps what
    was typed, and the table then holds it. An editor the grid opened itself (on the row it
    appends, on the next row after Enter) is closed first: typing goes only where meant."""
    editor = page.locator("textarea.gdg-input")
    cell = table.get_by_test_id(f"glide-cell-{column}-{row - 1}")
    for _ in range(3):  # a double click while the grid redraws after a rerun is lost
        if editor.count():
            page.keyboard.press("Escape")
            expect(editor).to_have_count(0)
        box = table.bounding_box()
        page.mouse.dblclick(box["x"] + x, box["y"] + ROW * row + ROW // 2)
        editor.wait_for()
        editor.press_sequentially(text)
        editor.press("Enter")
        wait_idle(page)
        try:
            expect(cell).to_have_text(text, timeout=3_000)
            break
        except AssertionError:
            continue
    if editor.count():
        page.keyboard.press("Escape")
    expect(cell).to_have_text(text)


def test_per_days_counts_the_fills_typed_on_one_claim(per_days_page):
    page = per_days_page
    day = page.get_by_role("textbox", name="Date of service")
    day.fill("2026-03-31")
    day.press("Enter")
    wait_idle(page)
    choose(page, "Product", per_days.PRODUCT)
    enter_quantity(page, "6")
    main = page.get_by_test_id("stMain")
    expect(
        exactly(
            page,
            "On 2026-03-31 the version of oncology-dqm in effect is v5 (in effect from 2025-12-08).",
        )
    ).to_have_count(1)
    expect(metric(page, "Approved quantity")).to_have_text("6")  # no fills yet
    fills = main.get_by_test_id("stDataFrame").first  # the product codes' table after it
    box = fills.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 3, box["y"] + ROW + ROW // 2)  # adds a row
    wait_idle(page)
    type_cell(page, fills, 1, 1, box["width"] / 3, "2026-03-02")
    type_cell(page, fills, 2, 1, box["width"] * 3 / 4, "4")
    expect(main.get_by_role("heading", name="Deny")).to_have_count(1)
    expect(metric(page, "Approved quantity")).to_have_text("0")
    expect(metric(page, "Limit")).to_have_text("9")
    expect(metric(page, "Reject code")).to_have_text("76")
    expect(
        exactly(
            page,
            "Over the Retail limit of 9 tablets per 30 days: the member received 4 tablets from "
            "2026-03-02 to 2026-03-31, so up to 5 more may be dispensed now; rejects with code 76.",
        )
    ).to_have_count(1)
    expect(main).to_contain_text(
        "The window is 2026-03-02 to 2026-03-31; the member received 4 tablets in it before this "
        "claim, so 6 requested makes 10."
    )
    screenshot(page, "13-per-days-deny")
    enter_quantity(page, "5")
    expect(main.get_by_role("heading", name="Approve")).to_have_count(1)
    expect(metric(page, "Approved quantity")).to_have_text("5")
    expect(
        exactly(
            page,
            "Within the Retail limit of 9 tablets per 30 days: the member received 4 tablets from "
            "2026-03-02 to 2026-03-31, so up to 5 more may be dispensed now.",
        )
    ).to_have_count(1)
    no_exceptions(page)
    screenshot(page, "14-per-days-approve")
