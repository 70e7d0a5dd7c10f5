"""The reviewer app's review loop through AppTest: the changed claims of Compare (both sides'
product, the claim's codes, date and messages; blanks empty; a download), the Batch page against
the Tests' expected decisions, a draft tried as a version on One claim and Batch, a Batch or
Compare row opened in One claim, and the small things (an empty NDC box, counts, blanks)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from compiler.decide.claims import read_claims_csv
from compiler.decide.impact import IMPACT_COLUMNS
from compiler.ruleset.store import Store
from tests.test_app import exports, metrics, open_app, raise_100mg_home_limit, shown, table

__all__ = ["exports"]  # the fixture, used by name

CODED = (
    b"claim_id,ndc,rxcui,product_id,channel,quantity,date_of_service,concomitant_drugs\n"
    b"n1,47335-475-83,,,retail,120,2026-03-02,Rifadin; lisinopril\n"
    b"r1,,403878,,Home Delivery,180,20260302,\n"
    b"p1,,,imatinib-400mg-tab,retail,61,2026-03-02,\n"
)


def compare(at, a: int, b: int):
    at.selectbox(key="compare_a:oncology-dqm").set_value(a)
    at.selectbox(key="compare_b:oncology-dqm").set_value(b)
    return at.run()


def cells(frame: pd.DataFrame) -> list[list]:
    return frame.astype(object).where(frame.notna(), None).values.tolist()


def test_compare_shows_both_sides_product_the_claims_codes_and_messages(exports):
    at = open_app("compare")
    at.session_state["batch_claims"] = read_claims_csv(CODED)
    compare(at, 3, 4)
    assert not at.exception, [e.message for e in at.exception]
    changed = table(at, "compare_impact")
    assert list(changed.columns) == IMPACT_COLUMNS
    # v3 has no product codes: the before side names no product (it was the only one shown).
    assert cells(changed[IMPACT_COLUMNS[:8]]) == [
        ["n1", None, "imatinib-400mg-tab", "47335-475-83", None, "retail", 120, "2026-03-02"],
        ["r1", None, "imatinib-100mg-tab", None, "403878", "home_delivery", 180, "2026-03-02"],
    ]
    assert cells(changed[["message_before", "message_after"]]) == [
        [
            "Ruleset oncology-dqm v3 has no quantity limit for NDC '47335-475-83'.",
            "Over the Retail limit of 60 tablets per Rx, but patient is taking a strong "
            "cytochrome P450 (CYP)3A4 inducer: rejects with code 76; 90 tablets (the most this "
            "override allows) are approvable on coverage review for 12 months.",
        ],
        [
            "Ruleset oncology-dqm v3 has no quantity limit for RxCUI '403878'.",
            "Within the Home Delivery limit of 540 tablets per Rx.",
        ],
    ]
    # Every table shows a blank cell empty, and its numbers as 5,318.
    assert {d.proto.placeholder for d in at.dataframe} == {""}
    impact_table = next(d for d in at.dataframe if "limit_after" in d.value.columns)
    assert (
        '"approved_quantity_after": {"type_config": {"type": "number", "format": "localized"}}'
        in (impact_table.proto.columns)
    )
    (download,) = at.get("download_button")
    assert download.proto.label == "Download the changed claims (CSV)"


def test_batch_from_the_tests_keeps_the_expected_decisions_and_says_pass_or_fail(exports):
    at = open_app("batch")
    editor = at.data_editor[0].value
    tests = Store(exports).load("oncology-dqm", 4)["tests"]
    assert editor[["claim_id", "expected_decision", "expected_approved_qty"]].values.tolist()[
        :2
    ] == [["100-home-at-limit", "approve", "540"], ["100-home-over-limit", "deny", "0"]]
    at.button(key="batch_decide").click().run()
    assert shown(at.success[0].value) == (
        f"Against the Expected Decision of each row: {len(tests)} pass, 0 fail."
    )
    decisions = table(at, "batch_decisions")
    assert list(decisions.columns[:2]) == ["claim_id", "result"]
    assert list(decisions.columns[7:11]) == [
        "decision",
        "expected_decision",
        "approved_quantity",
        "expected_approved_qty",
    ]
    assert set(decisions["result"]) == {"pass"}
    # One more tablet at the 100 mg home delivery limit: that row now fails.
    key = next(k for k in at.session_state if str(k).startswith("batch_editor:"))
    at.session_state[key] = {
        "edited_rows": {0: {"quantity": "541"}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    at.button(key="batch_decide").click().run()
    assert shown(at.error[0].value) == (
        f"Against the Expected Decision of each row: {len(tests) - 1} pass, 1 fail."
    )
    row = table(at, "batch_decisions").iloc[0]
    assert (row["claim_id"], row["decision"], row["expected_decision"], row["result"]) == (
        "100-home-at-limit",
        "deny",
        "approve",
        "fail",
    )


def upload_draft(at, founding_rows, make_workbook, name: str = "draft.xlsx"):
    data = make_workbook(raise_100mg_home_limit(founding_rows), name).read_bytes()
    at.switch_page("app_pages/draft.py").run()
    at.file_uploader(key="draft_upload").upload(name, data)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert shown(at.success[0].value).startswith(f"{name} compiles")
    return at


def test_a_checked_draft_is_a_version_for_one_claim_and_batch(
    exports, founding_rows, make_workbook
):
    at = open_app()
    assert at.sidebar.selectbox(key="version:oncology-dqm").options[-1] == (
        "v4 · in effect from 2025-12-08"
    )
    upload_draft(at, founding_rows, make_workbook)
    version = at.sidebar.selectbox(key="version:oncology-dqm")
    assert version.options[-1] == "draft draft.xlsx"
    version.set_value("draft").run()
    at.switch_page("app_pages/claim.py").run()
    at.selectbox(key="claim_product").set_value("imatinib-100mg-tab")
    at.radio(key="claim_channel").set_value("home_delivery")
    at.text_input(key="claim_quantity").input("600").run()
    assert not at.exception, [e.message for e in at.exception]
    # The draft raised the 100 mg home delivery limit to 600; v4 denies 600.
    assert shown(at.markdown[0].value) == "## :green[:material/check_circle: Approve]"
    assert metrics(at)["Limit"] == "600"
    assert at.expander[0].text[0].value.split("\n")[0] == "1. Ruleset oncology-dqm draft."
    captions = [shown(c.value) for c in at.caption]
    assert "Decided by oncology-dqm draft draft.xlsx, chosen in the sidebar (not published)." in (
        captions
    )
    at.switch_page("app_pages/batch.py").run()
    assert shown(at.caption[0].value).startswith(
        "Starting from the workbook Tests of oncology-dqm draft draft.xlsx."
    )
    at.button(key="batch_decide").click().run()
    n = len(at.data_editor[0].value)
    assert shown(at.success[0].value) == (
        f"Against the Expected Decision of each row: {n} pass, 0 fail."
    )
    assert set(table(at, "batch_decisions")["ruleset_version"].dropna()) == set()
    assert "Decided by oncology-dqm draft draft.xlsx, which is not published." in [
        shown(c.value) for c in at.caption
    ]
    assert [shown(c.value) for c in at.sidebar.caption] == [
        "Not published: the draft draft.xlsx, checked on the Draft page."
    ]
    # The draft removed: the sidebar is back on the published versions.
    at.switch_page("app_pages/draft.py").run()
    at.file_uploader(key="draft_upload").clear()
    at.run()
    assert "draft draft.xlsx" not in at.sidebar.selectbox(key="version:oncology-dqm").options


def test_a_batch_row_opens_in_one_claim_with_its_explanation(exports):
    at = open_app("batch")
    at.file_uploader(key="batch_upload").upload("claims.csv", CODED, "text/csv")
    at.run()
    at.button(key="batch_decide").click().run()
    pick = at.selectbox(key="batch_pick")
    assert pick.options == ["n1", "r1", "p1"]
    pick.set_value(0)
    at.button(key="batch_open:None").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert shown(at.title[0].value) == "One claim"
    assert shown(at.info[0].value) == "Claim n1 from the Batch page."
    assert (
        at.radio(key="claim_named_by").value,
        at.text_input(key="claim_ndc").value,
        at.radio(key="claim_channel").value,
        at.text_input(key="claim_quantity").value,
        at.multiselect(key="claim_drugs").value,
        at.text_input(key="claim_date").value,
        at.radio(key="claim_decide_by").value,
    ) == ("ndc", "47335-475-83", "retail", "120", ["Rifadin", "lisinopril"], "2026-03-02", "date")
    assert shown(at.markdown[0].value) == "## :blue[:material/rule: Override]"
    assert metrics(at)["Approved quantity"] == "90"
    steps = at.expander[0].text[0].value.split("\n")
    assert steps[1] == (
        "2. On its date of service, 2026-03-02, v4 is in effect (it takes effect on 2025-12-08)."
    )


def test_a_changed_claim_opens_in_one_claim_with_either_version(exports):
    at = open_app("compare")
    at.session_state["batch_claims"] = read_claims_csv(CODED)
    compare(at, 3, 4)
    at.selectbox(key="compare_pick").set_value(1)  # r1, by RxCUI at home delivery
    at.button(key="compare_open:3").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert shown(at.info[0].value) == "Claim r1 from Compare versions (v3 → v4)."
    assert at.sidebar.selectbox(key="version:oncology-dqm").value == 3
    assert at.radio(key="claim_decide_by").value == "sidebar"
    assert shown(at.info[1].value) == (
        "Ruleset oncology-dqm v3 has no quantity limit for RxCUI '403878'."
    )
    at.switch_page("app_pages/compare.py").run()
    compare(at, 3, 4)
    at.selectbox(key="compare_pick").set_value(1)
    at.button(key="compare_open:4").click().run()
    assert at.sidebar.selectbox(key="version:oncology-dqm").value == 4
    assert shown(at.markdown[0].value) == "## :green[:material/check_circle: Approve]"
    assert metrics(at)["Limit"] == "540"


def test_choosing_ndc_with_an_empty_box_asks_for_one_and_decides_nothing(exports):
    at = open_app()
    at.radio(key="claim_named_by").set_value("ndc").run()
    assert not at.exception
    assert [shown(i.value) for i in at.info] == ["Type the claim's NDC to decide it."]
    assert not any("Invalid claim" in m.value for m in at.markdown)
    assert not metrics(at) and not at.get("vega_lite_chart")
    at.text_input(key="claim_ndc").input("47335-475-83").run()
    assert shown(at.markdown[0].value) == "## :green[:material/check_circle: Approve]"


def test_a_date_typed_as_text_decides_by_its_version_and_a_blank_one_by_the_latest(exports):
    at = open_app()
    assert at.text_input(key="claim_date").value == dt.date.today().isoformat()
    at.text_input(key="claim_date").input("20240601").run()
    assert (
        "On 2024-06-01 the version of oncology-dqm in effect is v1 (in effect from 2023-12-13)."
        in [shown(c.value) for c in at.caption]
    )
    at.text_input(key="claim_date").input("").run()
    assert "No date of service: the latest version, v4, decides." in [
        shown(c.value) for c in at.caption
    ]
    at.text_input(key="claim_date").input("2024-13-01").run()
    assert shown(at.markdown[0].value) == "## :orange[:material/error: Invalid claim]"
    assert shown(at.info[0].value).startswith("Invalid: date_of_service '2024-13-01' is not a date")


@pytest.mark.parametrize("page", ["batch", "compare"])
def test_counts_of_thousands_are_written_with_a_separator(exports, page):
    rows = "".join(f"c{i},imatinib-400mg-tab,retail,60\n" for i in range(1_234))
    claims = f"claim_id,product_id,channel,quantity\n{rows}".encode()
    at = open_app(page)
    if page == "batch":
        at.file_uploader(key="batch_upload").upload("many.csv", claims, "text/csv")
        at.run()
        at.button(key="batch_decide").click().run()
        assert metrics(at)["approve"] == "1,234"
        assert shown(at.subheader[0].value).startswith("1,234 decisions by")
    else:
        at.session_state["batch_claims"] = read_claims_csv(claims)
        compare(at, 3, 4)
        assert "No claim changes decision or approved quantity (1,234 compared)." in [
            shown(m.value) for m in at.markdown
        ]


def test_a_draft_of_a_new_ruleset_is_offered_under_its_own_id(
    exports, founding_rows, make_workbook
):
    founding_rows["Ruleset"][0][0] = "oncology-new"
    data = make_workbook(founding_rows, "new.xlsx").read_bytes()
    at = open_app("draft")
    at.file_uploader(key="draft_upload").upload("new.xlsx", data)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    ruleset = at.sidebar.selectbox(key="ruleset_id")
    assert ruleset.options == ["oncology-dqm", "oncology-new"]
    ruleset.set_value("oncology-new").run()
    assert at.sidebar.selectbox(key="version:oncology-new").options == ["draft new.xlsx"]
    at.switch_page("app_pages/claim.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert shown(at.markdown[0].value) == "## :green[:material/check_circle: Approve]"
    said = []
    for page in ("compare", "history"):
        at.switch_page(f"app_pages/{page}.py").run()
        assert not at.exception, [e.message for e in at.exception]
        said.append(shown(at.info[0].value))
    assert said == [
        "oncology-new has no published version yet; see the Draft page.",
        "oncology-new has no published version yet.",
    ]


def test_the_draft_pages_changed_claims_carry_the_claims_codes(
    exports, founding_rows, make_workbook
):
    raise_100mg_home_limit(founding_rows)["Tests"] = []  # the draft decides Batch's claims
    at = open_app("draft")
    at.session_state["batch_claims"] = read_claims_csv(
        b"claim_id,rxcui,channel,quantity,date_of_service\nhd,403878,home_delivery,541,2026-03-02\n"
    )
    at.file_uploader(key="draft_upload").upload(
        "draft.xlsx", make_workbook(founding_rows, "draft.xlsx").read_bytes()
    )
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    changed = table(at, "draft_impact")
    assert cells(changed[["claim_id", "product_id_before", "product_id_after", "rxcui"]]) == [
        ["hd", "imatinib-100mg-tab", "imatinib-100mg-tab", "403878"]
    ]
