"""The One claim page for a Per Days product (AppTest): the reviewer gives the member and their
earlier fills, and reads the window, what counts, what remains, and the rule net of it."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from app_pages import memo
from tests.fixtures import per_days
from tests.fixtures.paths import ROOT


@pytest.fixture
def exports(per_days_copy, monkeypatch):
    """The bundled store with a v5 that adds the sumatriptan Per Days policy."""
    monkeypatch.setenv("DQM_EXPORTS", str(per_days_copy))
    memo.clear_caches(keep_content=True)
    yield per_days_copy
    memo.clear_caches(keep_content=True)


def one_claim(quantity: str, fills: list[dict]) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    at.text_input(key="claim_date").set_value("2026-03-31").run()
    at.selectbox(key="claim_product").set_value(per_days.PRODUCT).run()
    at.text_input(key="claim_quantity").set_value(quantity)
    at.session_state["claim_fills"] = {"edited_rows": {}, "added_rows": fills, "deleted_rows": []}
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_fills_in_the_window_count_and_the_message_says_what_remains(exports):
    fills = [
        {"date_of_service": "2026-03-01", "quantity": "5"},  # the day before the window
        {"date_of_service": "2026-03-02", "quantity": "4"},  # its first day
    ]
    at = one_claim("6", fills)
    assert {m.label: m.value for m in at.metric}["Approved quantity"] == "0"
    assert at.info[-1].value.replace("\\", "") == (
        "Over the Retail limit of 9 tablets per 30 days: the member received 4 tablets from "
        "2026-03-02 to 2026-03-31, so up to 5 more may be dispensed now; rejects with code 76."
    )
    steps = at.expander[0].text[0].value if at.expander[0].text else ""
    assert (
        "The window is 2026-03-02 to 2026-03-31; the member received 4 tablets in it before this "
        "claim, so 6 requested makes 10." in steps
    )
    at.text_input(key="claim_quantity").set_value("5").run()
    assert {m.label: m.value for m in at.metric}["Approved quantity"] == "5"


def test_a_fill_that_is_not_a_fill_is_said_and_nothing_is_decided(exports):
    at = one_claim("6", [{"date_of_service": "2026-03-02", "quantity": "four"}])
    assert [e.value.replace("\\", "") for e in at.error] == [
        "History row 1: quantity 'four' is not a number. A fill left out would let the member's "
        "later claims approve; correct the row and run again."
    ]
    assert not at.metric


CLAIMS = (
    "claim_id,member_id,product_id,channel,quantity,date_of_service\n"
    f"S1,M1,{per_days.PRODUCT},retail,6,2026-03-20\n"
    f"S2,M1,{per_days.PRODUCT},retail,6,2026-03-31\n"
    f"S3,M1,{per_days.PRODUCT},retail,1,2026-03-31\n"
).encode()
FILLS = (
    "member_id,product_id,date_of_service,quantity,status\n"
    f"M1,{per_days.PRODUCT},2026-03-02,2,paid\n"
    f"M1,{per_days.PRODUCT},2026-03-03,9,reversed\n"
).encode()


def decided_table(at: AppTest) -> list[list]:
    table = next(d.value for d in at.dataframe if "accumulated_quantity" in d.value.columns)
    shown = table[["claim_id", "decision", "approved_quantity", "accumulated_quantity"]]
    return shown.astype(object).where(shown.notna(), None).values.tolist()


def test_batch_counts_an_uploaded_history_and_the_runs_own_claims(exports):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    at.switch_page("app_pages/batch.py").run()
    at.file_uploader(key="batch_upload").upload("claims.csv", CLAIMS, "text/csv").run()
    at.file_uploader(key="batch_history").upload("fills.csv", FILLS, "text/csv").run()
    at.button(key="batch_decide").click().run()
    assert not at.exception, [e.message for e in at.exception]
    # S1: 2 received (the reversed fill ignored); S2: 8, over 9; S3: 8 (S2 denied), within.
    assert decided_table(at) == [
        ["S1", "approve", 6, 2],
        ["S2", "deny", 0, 8],
        ["S3", "approve", 1, 8],
    ]
    assert at.caption[0].value.replace("\\", "") == (
        "2 earlier fills from fills.csv count toward Per Days limits."
    )


def test_batch_says_why_a_history_is_refused(exports):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    at.switch_page("app_pages/batch.py").run()
    at.file_uploader(key="batch_upload").upload("claims.csv", CLAIMS, "text/csv").run()
    bad = (
        b"member_id,product_id,date_of_service,quantity\nM1,"
        + per_days.PRODUCT.encode()
        + (b",2026-03-02,lots\n")
    )
    at.file_uploader(key="batch_history").upload("fills.csv", bad, "text/csv").run()
    at.button(key="batch_decide").click().run()
    assert [e.value.replace("\\", "") for e in at.error] == [
        "History row 1: quantity 'lots' is not a number. A fill left out would let the member's "
        "later claims approve; correct the row and run again."
    ]


def test_compare_replays_each_versions_run_with_the_uploaded_history(exports):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    at.switch_page("app_pages/batch.py").run()
    at.file_uploader(key="batch_upload").upload("claims.csv", CLAIMS, "text/csv").run()
    at.switch_page("app_pages/compare.py").run()
    at.file_uploader(key="compare_history").upload("fills.csv", FILLS, "text/csv").run()
    assert not at.exception, [e.message for e in at.exception]
    changed = next(d.value for d in at.dataframe if "decision_before" in d.value.columns)
    shown = changed[["claim_id", "decision_before", "decision_after", "approved_quantity_after"]]
    assert shown.astype(object).values.tolist() == [
        ["S1", "not_applicable", "approve", 6],
        ["S2", "not_applicable", "deny", 0],
        ["S3", "not_applicable", "approve", 1],
    ]
