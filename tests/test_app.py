"""The reviewer app through Streamlit's AppTest: every page, against a copy of the exports store."""

from __future__ import annotations

import contextlib
import copy
import csv
import datetime as dt
import io
import json
import re
from collections import Counter

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st_h
from streamlit.testing.v1 import AppTest

import compiler
import compiler.ruleset.store
from app_pages import memo, text
from compiler.ruleset.compile import compile_workbook
from tests.fixtures.paths import ROOT

APP = str(ROOT / "app.py")
PRODUCT_400 = "imatinib-400mg-tab"


@pytest.fixture
def exports(exports_copy, monkeypatch):
    """The app reads a copy of the bundled exports; what the app caches of a store starts empty
    in every test (a chart or a version's drug names, cached by content, carry over, as in a
    server)."""
    monkeypatch.setenv("DQM_EXPORTS", str(exports_copy))
    memo.clear_caches(keep_content=True)
    yield exports_copy
    memo.clear_caches(keep_content=True)


def open_app(page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    if page:
        at.switch_page(f"app_pages/{page}.py").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def shown(markdown: str) -> str:
    """What a reader sees of Markdown the app escaped (text.md undone): the file's own text."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown).replace(text.WORD_JOINER, "")


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


# Each table on a page, by a column only it has (AppTest does not expose st.dataframe keys).
TABLES = {
    "batch_decisions": "ruleset_version",
    "compare_changes": "kind",
    "compare_impact": "limit_after",
    "compare_transitions": "claims",
    "draft_decisions": "ruleset_version",
    "draft_changes": "kind",
    "draft_impact": "decision_before",
}


def table(at: AppTest, name: str) -> pd.DataFrame:
    """A read-only table on the page."""
    found = [
        d.value
        for d in at.dataframe
        if d.editing_mode == "read_only" and TABLES[name] in d.value.columns
    ]
    assert found, f"no {name} table on the page"
    return found[0]


def enter_claim(
    at: AppTest, product: str, channel: str, quantity: float, drugs: list[str]
) -> AppTest:
    at.selectbox(key="claim_product").set_value(product)
    at.radio(key="claim_channel").set_value(channel)
    at.text_input(key="claim_quantity").set_value(str(quantity))
    at.multiselect(key="claim_drugs").set_value(drugs)
    return at.run()


def raise_100mg_home_limit(rows: dict) -> dict:
    """The founding rows with the 100 mg home delivery limit raised from 540 to 600, a History row
    saying so, and the Tests that denied 541 tablets now asking for 601."""
    assert rows["Limits"][0][1] == "imatinib-100mg-tab"
    rows["Limits"][0][5] = 600
    rows["Policies"][0][3] = rows["History"][-1][3].replace(year=2027)
    rows["History"].append(
        [
            "imatinib-per-rx",
            "Revision",
            "Home delivery limit for 100 mg raised to 600.",
            rows["Policies"][0][3],
        ]
    )
    for t in rows["Tests"]:
        if (t[1], t[2], t[3]) == ("imatinib-100mg-tab", "Home Delivery", 541):
            t[3] = 601
    return rows


def expected_counts(exports, version: int = 4) -> dict[str, str]:
    """What the version's workbook Tests expect, per decision (the staff's own expectations)."""
    tests = compiler.ruleset.store.Store(exports).load("oncology-dqm", version)["tests"]
    n = Counter(t["expected_decision"] for t in tests)
    return {
        d: str(n.get(d, 0)) for d in ["approve", "override", "deny", "not_applicable", "invalid"]
    }


def published_v5(exports, founding_rows, make_workbook):
    """Publish a v5 that raises the 100 mg home delivery limit from 540 to 600 (in effect, as the
    workbook's Effective Date says, from 2025-12-08)."""
    result = compile_workbook(make_workbook(raise_100mg_home_limit(founding_rows)), exports)
    assert result.ok, [f.message for f in result.findings]
    return result


def test_version_chooser_defaults_to_latest_with_review_dates_and_history(exports):
    at = open_app()
    version = at.sidebar.selectbox(key="version:oncology-dqm")
    assert version.value == 4
    # Short enough for the sidebar's box to show whole; the reviews and History beside it.
    assert version.options == [
        "v1 · in effect from 2023-12-13",
        "v2 · in effect from 2024-12-17",
        "v3 · in effect from 2025-12-08",
        "v4 · in effect from 2025-12-08",
    ]
    assert [shown(c.value) for c in at.sidebar.caption] == [
        "In effect from 2025-12-08  \nimatinib-per-rx: reviewed 2026-12-01  \n"
        "History: Selected Revision: Product codes added (NDC and RxCUI) so claims can name the "
        "products. No criteria changes."
    ]


def test_claim_with_rifampin_over_the_retail_cap_is_overridden_at_90(exports):
    at = open_app()
    at.sidebar.selectbox(key="version:oncology-dqm").set_value(3)
    at.radio(key="claim_decide_by").set_value("sidebar")
    enter_claim(at, PRODUCT_400, "retail", 120, ["rifampin"])
    assert not at.exception
    assert shown(at.markdown[0].value) == "## :blue[:material/rule: Override]"
    assert metrics(at) == {
        "Approved quantity": "90",
        "Limit": "60",
        "Reject code": "76",
        "Approval months": "12",
    }
    assert "**Criterion met:** strong-cyp3a4-inducer" in shown(at.markdown[1].value)
    assert "**Matched drugs:** rifampin" in shown(at.markdown[1].value)
    assert "Decided by oncology-dqm v3." in [shown(c.value) for c in at.caption]


def test_claim_drugs_accept_free_text_beyond_the_suggestions(exports):
    at = open_app()
    drugs = at.multiselect(key="claim_drugs")
    assert "rifampicin" in drugs.options and "St. John's Wort" in drugs.options
    enter_claim(at, PRODUCT_400, "retail", 90, ["Phenytoin Sodium 100 mg capsule"])
    assert shown(at.markdown[0].value) == "## :blue[:material/rule: Override]"
    assert metrics(at)["Approved quantity"] == "90"
    assert "**Matched drugs:** Phenytoin Sodium 100 mg capsule" in shown(at.markdown[1].value)


def test_claim_over_the_limit_without_an_inducer_is_denied_with_the_limit_named(exports):
    at = open_app()
    enter_claim(at, PRODUCT_400, "home_delivery", 181, [])
    assert shown(at.markdown[0].value) == "## :red[:material/block: Deny]"
    assert metrics(at) == {
        "Approved quantity": "0",
        "Limit": "180",
        "Reject code": "76",
        "Approval months": "—",
    }
    assert "180" in shown(at.info[0].value)


def test_claim_page_shows_the_explanation_and_the_rule_picture(exports):
    at = open_app()
    enter_claim(at, PRODUCT_400, "retail", 75, ["Rifadin"])
    # The library's explanation of the same claim (dated today, as the page dates it), numbered.
    claim = {"product_id": PRODUCT_400, "channel": "retail", "quantity": 75}
    claim |= {"concomitant_drugs": "Rifadin", "date_of_service": dt.date.today().isoformat()}
    _, steps = compiler.explain_claim(claim, "oncology-dqm", exports=exports)
    assert steps[-1] == (
        "Decision: override; reject code 76 at the point of service; 75 tablets approvable on "
        "coverage review for 12 months."
    )
    assert at.expander[0].text[0].value.split("\n") == [
        f"{i}. {step}" for i, step in enumerate(steps, start=1)
    ]
    # The rule's limit and cap, and this claim's quantity, drawn over the rule's regions.
    (chart,) = at.get("vega_lite_chart")
    marks = [layer["data"]["values"] for layer in json.loads(chart.proto.spec)["layer"][1:]]
    limit_and_cap = [{"at": 60.0, "label": "limit 60"}, {"at": 90.0, "label": "cap 90"}]
    this_claim = [{"at": 75.0, "label": "this claim: 75"}]
    assert marks == [limit_and_cap, limit_and_cap, this_claim, this_claim]


def test_batch_decides_the_workbook_tests_and_counts_each_decision(exports):
    at = open_app("batch")
    at.button(key="batch_decide").click().run()
    assert not at.exception
    expected = expected_counts(exports)
    assert metrics(at) == expected
    assert expected["approve"] != "0" and expected["override"] != "0" and expected["deny"] != "0"
    decisions = table(at, "batch_decisions")
    assert len(decisions) == sum(int(v) for v in expected.values())
    row = decisions.set_index("claim_id").loc["400-retail-over-cap"]
    assert (row["decision"], row["approved_quantity"], row["matched_drugs"]) == (
        "override",
        90,
        "Rifadin",
    )
    assert at.get("download_button")[0].proto.label == "Download decisions (CSV)"


def test_batch_decides_an_uploaded_claims_csv_including_a_bad_row(exports):
    at = open_app("batch")
    csv = (
        b"claim_id,product_id,channel,quantity,concomitant_drugs,attested_criteria\n"
        b"a,imatinib-400mg-tab,Retail,120,Rifadin,\n"
        b"b,imatinib-400mg-tab,retail,-5,,\n"
        b"c,imatinib-100mg-tab,home_delivery,540,,\n"
    )
    at.file_uploader(key="batch_upload").upload("claims.csv", csv, "text/csv")
    at.run()
    at.button(key="batch_decide").click().run()
    assert not at.exception
    assert metrics(at) == {
        "approve": "1",
        "override": "1",
        "deny": "0",
        "not_applicable": "0",
        "invalid": "1",
    }
    decisions = table(at, "batch_decisions")
    assert list(decisions["claim_id"]) == ["a", "b", "c"]
    assert list(decisions["decision"]) == ["override", "invalid", "approve"]
    # -5 is not a plain number: echoed as given, the column shown as text.
    assert list(decisions["quantity"]) == ["120", "-5", "540"]


def test_batch_edit_changes_what_is_decided(exports):
    at = open_app("batch")
    editor_key = next(k for k in at.session_state if str(k).startswith("batch_editor:"))
    # Row 0 is 100-home-at-limit (540, approve); ask for one more tablet.
    first = at.data_editor[0].value.iloc[0]
    assert (first["claim_id"], first["quantity"]) == ("100-home-at-limit", "540")
    at.session_state[editor_key] = {
        "edited_rows": {0: {"quantity": "541"}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    at.button(key="batch_decide").click().run()
    decisions = table(at, "batch_decisions").set_index("claim_id")
    assert decisions.loc["100-home-at-limit", "decision"] == "deny"
    assert metrics(at)["deny"] == str(int(expected_counts(exports)["deny"]) + 1)


def test_compare_lists_the_compilers_changes_between_two_versions(exports):
    at = open_app("compare")
    at.selectbox(key="compare_a:oncology-dqm").set_value(1)
    at.selectbox(key="compare_b:oncology-dqm").set_value(3)
    at.run()
    changes = table(at, "compare_changes")
    assert list(changes["change"]) == [
        "oncology-dqm: Effective Date 2023-12-13 → 2025-12-08",
        "imatinib-per-rx: Review Date 2023-12-13 → 2025-12-08",
        "imatinib-per-rx: History row added: Annual Revision, 2024-12-17: No criteria changes.",
        "imatinib-per-rx: History row added: Annual Revision, 2025-12-08: No criteria changes.",
    ]
    n = len(compiler.ruleset.store.Store(exports).load("oncology-dqm", 3)["tests"])
    assert f"No claim changes decision or approved quantity ({n} compared)." in [
        shown(m.value) for m in at.markdown
    ]


def test_compare_defaults_to_the_chosen_version_and_the_one_before(
    exports, founding_rows, make_workbook
):
    published_v5(exports, founding_rows, make_workbook)
    at = open_app("compare")
    assert at.selectbox(key="compare_a:oncology-dqm").value == 4
    assert at.selectbox(key="compare_b:oncology-dqm").value == 5
    assert "imatinib-100mg-tab: Home Delivery Max Qty per Rx 540 → 600" in list(
        table(at, "compare_changes")["change"]
    )
    # v5's own Tests: those that asked for 541 at home delivery now ask for 601, which both versions deny.
    n = len(compiler.ruleset.store.Store(exports).load("oncology-dqm", 5)["tests"])
    assert f"No claim changes decision or approved quantity ({n} compared)." in [
        shown(m.value) for m in at.markdown
    ]


def test_compare_impact_on_the_batch_table(exports, founding_rows, make_workbook):
    published_v5(exports, founding_rows, make_workbook)
    at = open_app("compare")
    from compiler.decide.claims import claims_frame

    at.session_state["batch_claims"] = claims_frame(
        [
            {
                "claim_id": "hd-541",
                "product_id": "imatinib-100mg-tab",
                "channel": "home_delivery",
                "quantity": "541",
                "concomitant_drugs": "",
                "attested_criteria": "",
            },
            {
                "claim_id": "r-60",
                "product_id": PRODUCT_400,
                "channel": "retail",
                "quantity": "60",
                "concomitant_drugs": "",
                "attested_criteria": "",
            },
        ]
    )
    at.selectbox(key="compare_a:oncology-dqm").set_value(4)
    at.selectbox(key="compare_b:oncology-dqm").set_value(5)
    at.run()
    changed = table(at, "compare_impact")
    assert changed[
        [
            "claim_id",
            "decision_before",
            "decision_after",
            "approved_quantity_before",
            "approved_quantity_after",
        ]
    ].values.tolist() == [["hd-541", "deny", "approve", 0, 541]]
    assert any(
        shown(m.value) == "1 of 2 claims changes decision or approved quantity."
        for m in at.markdown
    )
    assert table(at, "compare_transitions").values.tolist() == [
        ["deny", "approve", 1, 0, 541],
        ["approve", "approve", 1, 60, 60],
    ]


def test_draft_with_a_word_in_a_limit_cell_shows_that_cell(exports, founding_rows, make_workbook):
    founding_rows["Limits"][1][4] = "sixty"
    data = make_workbook(founding_rows).read_bytes()
    at = open_app("draft")
    uploader = at.file_uploader(key="draft_upload")
    assert (uploader.proto.max_upload_size_mb, list(uploader.proto.type)) == (10, [".xlsx"])
    uploader.upload(
        "oncology-dqm.xlsx",
        data,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    at.run()
    assert not at.exception
    assert shown(at.error[0].value) == (
        "oncology-dqm.xlsx: 1 error(s), 0 warning(s). It would not compile; fix the cells below."
    )
    findings = at.table[0].value.reset_index().map(shown)
    assert findings.values.tolist() == [
        [
            "error",
            "Limits",
            "E3",
            "Retail Max Qty",
            "sixty",
            "'Retail Max Qty' must be a number. Type a number such as 60, in digits.",
        ]
    ]
    download = at.get("download_button")[0]
    assert download.proto.label == "Download the workbook with these findings marked"


def test_valid_draft_previews_decisions_and_impact_without_publishing(
    exports, founding_rows, make_workbook
):
    raise_100mg_home_limit(founding_rows)
    founding_rows["Tests"].append(
        [
            "100-home-541",
            "imatinib-100mg-tab",
            "Home Delivery",
            541,
            None,
            None,
            "Approve",
            541,
            "Under the new limit.",
        ]
    )
    data = make_workbook(founding_rows).read_bytes()
    before = sorted(p.name for p in (exports / "oncology-dqm").iterdir())
    at = open_app("draft")
    at.file_uploader(key="draft_upload").upload("draft.xlsx", data)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert shown(at.success[0].value).startswith("draft.xlsx compiles: ruleset oncology-dqm")
    # Each Tests row decided as the staff expect.
    assert table(at, "draft_decisions")[["claim_id", "decision"]].values.tolist() == [
        [t[0], t[6].lower().replace(" ", "_")] for t in founding_rows["Tests"]
    ]
    assert "imatinib-100mg-tab: Home Delivery Max Qty per Rx 540 → 600" in list(
        table(at, "draft_changes")["change"]
    )
    changed = table(at, "draft_impact")
    assert changed[["claim_id", "decision_before", "decision_after"]].values.tolist() == [
        ["100-home-541", "deny", "approve"]
    ]
    assert sorted(p.name for p in (exports / "oncology-dqm").iterdir()) == before


def test_a_draft_is_checked_against_a_version_published_after_it_was_uploaded(
    exports, founding_rows, make_workbook
):
    data = make_workbook(copy.deepcopy(founding_rows), "draft.xlsx").read_bytes()  # what v4 says
    at = open_app("draft")
    at.file_uploader(key="draft_upload").upload("draft.xlsx", data)
    at.run()
    assert "The draft says what v4 says." in [shown(m.value) for m in at.markdown]
    published_v5(exports, founding_rows, make_workbook)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    # The draft predates v5: its History lacks the row v5 published, as dqm compile would say.
    findings = at.table[0].value.reset_index().map(shown)
    assert findings.values.tolist() == [
        [
            "error",
            "History",
            "A1",
            "Policy ID",
            "",
            "The History row of 'imatinib-per-rx' dated 12/01/2027 (Revision: Home delivery limit "
            "for 100 mg raised to 600.) is published in v5 but is missing here. History is the "
            "audit trail: a published row is never removed. Type it back as it was.",
        ]
    ]


def test_history_page_shows_every_version_with_its_history_rows(exports):
    at = open_app("history")
    assert shown(at.title[0].value) == "History of oncology-dqm"
    headings = [shown(m.value) for m in at.markdown if m.value.startswith("#### ")]
    assert headings == [
        "#### v4  \nIn effect from 2025-12-08; imatinib-per-rx reviewed 2026-12-01",
        "#### v3  \nIn effect from 2025-12-08; imatinib-per-rx reviewed 2025-12-08",
        "#### v2  \nIn effect from 2024-12-17; imatinib-per-rx reviewed 2024-12-17",
        "#### v1  \nIn effect from 2023-12-13; imatinib-per-rx reviewed 2023-12-13",
    ]
    assert [shown(m.value) for m in at.markdown].count(
        "- Annual Revision: No criteria changes."
    ) == 3
    (chart,) = at.get("vega_lite_chart")
    labels = [pa.ipc.open_stream(d.data.data).read_all().to_pandas() for d in chart.proto.datasets]
    # The timeline's labels: when each version takes effect (v4 when v3 did), and each review.
    assert labels[-1].values.tolist() == [
        ["takes effect", "2023-12-13", "v1"],
        ["imatinib-per-rx reviewed", "2023-12-13", "v1"],
        ["takes effect", "2024-12-17", "v2"],
        ["imatinib-per-rx reviewed", "2024-12-17", "v2"],
        ["takes effect", "2025-12-08", "v3, v4"],
        ["imatinib-per-rx reviewed", "2025-12-08", "v3"],
        ["imatinib-per-rx reviewed", "2026-12-01", "v4"],
    ]


def test_a_tampered_version_is_refused_with_a_clear_message(exports):
    path = exports / "oncology-dqm" / "v4.json"
    doc = json.loads(path.read_text())
    doc["policies"][0]["products"][1]["retail_max_qty"] = 600
    path.write_text(json.dumps(doc, indent=2))
    at = open_app()
    assert shown(at.sidebar.error[0].value) == (
        f"{path} has been changed since it was published (its sha256 does not match its content). "
        "Restore it from version control; never edit exports by hand."
    )
    assert shown(at.error[0].value) == "No usable published version is chosen; see the sidebar."
    assert (
        "v4 · refused: changed since it was published"
        in at.sidebar.selectbox(key="version:oncology-dqm").options
    )
    # A claim may fall on v4's dates, so none is decided by date; the untampered versions still
    # decide when chosen in the sidebar.
    at.sidebar.selectbox(key="version:oncology-dqm").set_value(2).run()
    assert not at.sidebar.error and not metrics(at)
    refused = (
        f"{path} has been changed since it was published (its sha256 does not match its "
        "content). Restore it from version control; never edit exports by hand."
    )
    assert shown(at.error[0].value).startswith(
        f"Which version is in effect on {dt.date.today().isoformat()} cannot be told: {refused}"
    )
    at.radio(key="claim_decide_by").set_value("sidebar").run()
    assert metrics(at)["Limit"] == "180"


def test_a_version_is_verified_once_per_content_across_reruns(exports, monkeypatch):
    calls = []
    real_load = compiler.ruleset.store.Store.load

    def counting_load(self, ruleset_id, version=None):
        calls.append(version)
        return real_load(self, ruleset_id, version)

    monkeypatch.setattr(compiler.ruleset.store.Store, "load", counting_load)
    at = open_app()
    first = sorted(calls)
    assert first == [1, 2, 3, 4]
    enter_claim(at, PRODUCT_400, "retail", 61, [])
    at.switch_page("app_pages/history.py").run()
    assert sorted(calls) == first


def test_a_malformed_claims_csv_is_named_in_one_line_and_the_tests_stay(exports):
    at = open_app("batch")
    at.file_uploader(key="batch_upload").upload(
        "claims.csv", b"claim_id,product,channel\n1,x,retail\n", "text/csv"
    )
    at.run()
    assert not at.exception
    assert shown(at.error[0].value) == (
        "claims.csv: The claims file has no product_id, ndc or rxcui column and no quantity "
        "column (its header row has: claim_id, product, channel); the header row must name "
        "channel, quantity and at least one of product_id, ndc and rxcui."
    )
    assert shown(at.caption[0].value).startswith(
        "Starting from the workbook Tests of oncology-dqm v4."
    )


def test_an_attested_criterion_is_offered_and_overrides_when_attested(
    exports, founding_rows, make_workbook
):
    rows = founding_rows
    rows["Criteria"].append(
        ["dose-confirmed", "Prescriber confirmed a 600 mg daily dose", "Attested", None]
    )
    rows["Overrides"].append(["imatinib-100mg-tab", "dose-confirmed", 240, 720, 6, None])
    rows["Policies"][0][3] = rows["History"][-1][3].replace(year=2027)
    rows["History"].append(
        [
            "imatinib-per-rx",
            "Revision",
            "100 mg override when the dose is confirmed.",
            rows["Policies"][0][3],
        ]
    )
    result = compile_workbook(make_workbook(rows), exports)
    assert result.ok, [f.message for f in result.findings]
    at = open_app()
    assert at.sidebar.selectbox(key="version:oncology-dqm").value == 5
    attested = at.multiselect(key="claim_attested")
    assert attested.options == ["dose-confirmed"] and not attested.disabled
    enter_claim(at, "imatinib-100mg-tab", "retail", 200, [])
    assert shown(at.markdown[0].value) == "## :red[:material/block: Deny]"
    at.multiselect(key="claim_attested").set_value(["dose-confirmed"]).run()
    assert shown(at.markdown[0].value) == "## :blue[:material/rule: Override]"
    assert metrics(at) == {
        "Approved quantity": "200",
        "Limit": "180",
        "Reject code": "76",
        "Approval months": "6",
    }
    assert "**Criterion met:** dose-confirmed" in shown(at.markdown[1].value)


def test_claim_page_survives_a_quantity_far_beyond_every_limit(exports):
    at = open_app()
    enter_claim(at, PRODUCT_400, "retail", 1_000_000, ["rifampin"])
    assert not at.exception
    assert metrics(at)["Approved quantity"] == "90"
    assert len(at.get("vega_lite_chart")) == 1


def enter_by_code(at: AppTest, system: str, code: str, day: dt.date, quantity: float) -> AppTest:
    at.text_input(key="claim_date").input(day.isoformat())
    at.radio(key="claim_named_by").set_value(system).run()
    at.text_input(key=f"claim_{system}").input(code)
    at.radio(key="claim_channel").set_value("retail")
    at.text_input(key="claim_quantity").set_value(str(quantity))
    return at.run()


def test_a_claim_named_by_ndc_is_decided_by_the_version_in_effect_on_its_date(exports):
    at = enter_by_code(open_app(), "ndc", "47335-475-83", dt.date(2026, 3, 2), 61)
    assert not at.exception, [e.message for e in at.exception]
    assert (
        "On 2026-03-02 the version of oncology-dqm in effect is v4 (in effect from 2025-12-08)."
        in [shown(c.value) for c in at.caption]
    )
    assert at.markdown[0].value == "## :red[:material/block: Deny]"
    assert metrics(at)["Limit"] == "60"
    steps = at.expander[0].text[0].value.split("\n")
    assert steps[:3] == [
        "1. Ruleset oncology-dqm v4.",
        "2. On its date of service, 2026-03-02, v4 is in effect (it takes effect on 2025-12-08).",
        "3. NDC '47335-475-83' (47335-0475-83) is imatinib-400mg-tab: Sun Pharma, bottle of 30.",
    ]
    assert "Decided by oncology-dqm v4." in [shown(c.value) for c in at.caption]
    assert len(at.get("vega_lite_chart")) == 1  # the rule of the product the NDC names


def test_a_claim_dated_in_an_earlier_versions_time_is_decided_by_it(exports):
    at = open_app()
    at.text_input(key="claim_date").input(dt.date(2024, 6, 1).isoformat())
    enter_claim(at, PRODUCT_400, "retail", 61, [])
    assert (
        "On 2024-06-01 the version of oncology-dqm in effect is v1 (in effect from 2023-12-13)."
        in [shown(c.value) for c in at.caption]
    )
    assert "Decided by oncology-dqm v1." in [shown(c.value) for c in at.caption]
    # v1 lists no codes: the NDC names its product through v4, and v1's limit decides.
    enter_by_code(at, "ndc", "47335-475-83", dt.date(2024, 6, 1), 61)
    assert shown(at.info[-1].value) == (
        "Over the Retail limit of 60 tablets per Rx and no override criterion is met: rejects "
        "with code 76."
    )
    steps = at.expander[0].text[0].value
    assert (
        "NDC '47335-475-83' (47335-0475-83) is imatinib-400mg-tab: Sun Pharma, bottle of 30 (the "
        "code as v4 lists it; v1 lists no product codes)." in steps
    )
    assert "Decided by oncology-dqm v1." in [shown(c.value) for c in at.caption]
    assert at.expander[1].label == "Product codes in v1 (0)"
    assert shown(at.expander[1].markdown[0].value) == (
        "v1 lists no product codes: a claim's NDC or RxCUI names its product through the nearest "
        "later version that lists it, and this version's limit decides."
    )


def test_a_claim_dated_before_every_version_is_not_applicable(exports):
    at = enter_by_code(open_app(), "rxcui", "403879", dt.date(2023, 1, 1), 61)
    message = (
        "No version of oncology-dqm is in effect on 2023-01-01: the first, v1, takes effect on "
        "2023-12-13."
    )
    assert shown(at.warning[0].value) == message and shown(at.info[0].value) == message
    assert at.markdown[0].value == "## :gray[:material/help: Not applicable]"
    assert "No version of oncology-dqm decided this claim." in [shown(c.value) for c in at.caption]


def test_a_malformed_ndc_is_invalid_saying_how_to_write_it(exports):
    at = enter_by_code(open_app(), "ndc", "4733547583", dt.date(2026, 3, 2), 61)
    assert shown(at.info[0].value) == (
        "Invalid: NDC '4733547583' has 10 digits without hyphens: write it as 4-4-2, 5-3-2 or "
        "5-4-1."
    )


def test_the_sidebars_version_decides_when_chosen_whatever_the_date(exports):
    at = open_app()
    at.sidebar.selectbox(key="version:oncology-dqm").set_value(2)
    at.radio(key="claim_decide_by").set_value("sidebar")
    at.text_input(key="claim_date").input(dt.date(2026, 3, 2).isoformat())
    enter_claim(at, PRODUCT_400, "retail", 61, [])
    captions = [shown(c.value) for c in at.caption]
    assert (
        "On 2026-03-02 the version of oncology-dqm in effect is v4 (in effect from 2025-12-08)."
        in captions
    )
    assert "Decided by oncology-dqm v2." in captions


def test_batch_decides_ndc_and_dated_claims_by_the_version_in_effect(exports):
    at = open_app("batch")
    csv = (
        b"claim_id,ndc,rxcui,channel,quantity,date_of_service\n"
        b"a,47335-475-83,,retail,61,2026-03-02\n"
        b"b,,403878,retail,180,20260302\n"
        b"c,47335-475-83,,retail,61,2024-06-01\n"
        b"d,47335-475-83,,retail,61,2023-01-01\n"
    )
    at.file_uploader(key="batch_upload").upload("claims.csv", csv, "text/csv")
    at.run()
    at.button(key="batch_decide").click().run()
    assert not at.exception, [e.message for e in at.exception]
    decisions = table(at, "batch_decisions")
    assert decisions[["claim_id", "product_id", "decision", "ruleset_version"]].astype(
        object
    ).where(
        decisions[["claim_id", "product_id", "decision", "ruleset_version"]].notna(), None
    ).values.tolist() == [
        ["a", "imatinib-400mg-tab", "deny", 4],
        ["b", "imatinib-100mg-tab", "approve", 4],
        ["c", "imatinib-400mg-tab", "deny", 1],  # v1 lists no codes: named through v4
        ["d", None, "not_applicable", None],
    ]
    assert "Versions that decided: v1 (1), v4 (2), none in effect (1)" in [
        shown(c.value) for c in at.caption
    ]
    at.radio(key="batch_decide_by").set_value("sidebar").run()
    at.button(key="batch_decide").click().run()
    assert set(table(at, "batch_decisions")["ruleset_version"]) == {4}


def test_a_retired_policy_shows_in_the_sidebar_the_product_list_and_the_decision(
    exports, founding_rows, make_workbook
):
    founding_rows["Policies"][0] += [None] * (7 - len(founding_rows["Policies"][0]))
    founding_rows["Policies"][0][3] = founding_rows["Policies"][0][3].replace(year=2027)
    founding_rows["Policies"][0][6] = "Retired"
    founding_rows["History"].append(
        ["imatinib-per-rx", "Retirement", "Managed elsewhere.", founding_rows["Policies"][0][3]]
    )
    founding_rows["Tests"] = []
    result = compile_workbook(make_workbook(founding_rows), exports)
    assert (result.ok, result.outcome.version) == (True, 5)
    at = open_app()
    assert [shown(c.value) for c in at.sidebar.caption] == [
        "In effect from 2025-12-08  \nimatinib-per-rx: retired 2027-12-01  \n"
        "History: Retirement: Managed elsewhere."
    ]
    product = at.selectbox(key="claim_product")
    assert product.format_func(PRODUCT_400) == "imatinib-400mg-tab — policy retired 2027-12-01"
    at.text_input(key="claim_date").input(dt.date(2027, 12, 1).isoformat())  # the day it retires
    enter_claim(at, PRODUCT_400, "retail", 120, ["rifampin"])
    assert not at.exception, [e.message for e in at.exception]
    assert at.markdown[0].value.startswith("## :gray[")
    assert shown(at.info[0].value) == (
        "Not applicable: policy imatinib-per-rx was retired on 12/01/2027; ruleset oncology-dqm v5 "
        "sets no quantity limit for imatinib-400mg-tab since then."
    )


@pytest.mark.parametrize(
    "quantity, reason",
    [
        ("1e20", "quantity '1e20' is not a plain number"),  # the chart's traceback, before
        ("10000000", "quantity 10,000,000 is over 1,000,000"),
        ("\uff16\uff10", "quantity '\uff16\uff10' is not a number"),  # full-width 60
    ],
)
def test_a_quantity_that_is_no_claim_s_is_invalid_with_the_contract_s_message(
    exports, quantity, reason
):
    at = open_app()
    enter_claim(at, PRODUCT_400, "retail", quantity, [])
    assert not at.exception
    assert shown(at.markdown[0].value) == "## :orange[:material/error: Invalid claim]"
    assert shown(at.info[0].value).startswith(f"Invalid: {reason}")
    assert len(at.get("vega_lite_chart")) == 1  # the rule is still drawn, without the claim


def test_a_draft_with_many_findings_shows_the_first_of_each_sheet_and_counts_the_rest(
    exports, founding_rows, make_workbook
):
    first = len(founding_rows["Limits"]) + 2  # the Excel row of the first bad row
    founding_rows["Limits"] += [
        ["imatinib-per-rx", f"p-{i}", "P", "1 mg", "sixty", 90, "tablets", None] for i in range(60)
    ]
    at = open_app("draft")
    at.file_uploader(key="draft_upload").upload(
        "many.xlsx", make_workbook(founding_rows).read_bytes()
    )
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert shown(at.error[0].value).startswith("many.xlsx: 60 error(s), 0 warning(s).")
    assert at.table[0].value[["sheet", "cell", "value"]].values.tolist() == [
        ["Limits", f"E{row}", "sixty"] for row in range(first, first + 50)
    ]
    assert [shown(c.value) for c in at.main.caption][-1] == (
        "Limits: 10 more finding(s) not shown here; the marked-up copy lists every one (or run "
        "`dqm validate WORKBOOK`)."
    )
    download = at.get("download_button")[0]
    assert download.proto.label == "Download the workbook with these findings marked"


def test_a_draft_over_its_budget_is_stopped_with_a_message(
    exports, founding_rows, make_workbook, monkeypatch
):
    import functools

    from compiler.budget import Budget
    from compiler.ruleset import draft

    tight = Budget(seconds=0.01, more_seconds=0.01, memory_bytes=1_000_000_000, wall_factor=6000)
    monkeypatch.setattr(
        draft, "start_draft_check", functools.partial(draft.start_draft_check, budget=tight)
    )
    at = open_app("draft")
    at.file_uploader(key="draft_upload").upload(
        "slow.xlsx", make_workbook(founding_rows).read_bytes()
    )
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert shown(at.error[0].value) == (
        "slow.xlsx was not checked: it used more than 0.01 seconds of processor time, far more "
        "than any rules workbook needs (the budget is 7 s and 1,000 MB). Run `dqm validate WORKBOOK` to see its "
        "findings."
    )
    assert not at.table


def test_a_draft_over_the_upload_limit_is_refused_by_the_page_itself(exports):
    # The browser keeps to the uploader's 10 MB; a request written by hand need not.
    at = open_app("draft")
    at.file_uploader(key="draft_upload").upload("big.xlsx", b"PK" + b"\0" * 10_000_000)
    at.run()
    assert shown(at.error[0].value) == "big.xlsx is larger than 10 MB; it was not checked."
    assert not at.table


def test_the_server_s_upload_limit_is_the_pages(exports):
    import tomllib

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    limits = {config["server"]["maxUploadSize"]}
    for page, key in (("draft", "draft_upload"), ("batch", "batch_upload")):
        limits.add(open_app(page).file_uploader(key=key).proto.max_upload_size_mb)
    assert limits == {10}


def test_file_names_and_file_text_are_escaped_where_the_page_reads_markdown(exports):
    name = "![x](http://evil.test/i.png) **claims**.csv"
    at = open_app("batch")
    at.file_uploader(key="batch_upload").upload(name, b"claim_id,product,channel\n1,x,retail\n")
    at.run()
    message = at.error[0].value
    assert message.startswith(text.md(name) + ": ")
    assert "![x](" not in message and "**claims**" not in message and "http://" not in message
    assert shown(message).startswith(f"{name}: The claims file has no product_id")


def test_text_for_markdown_is_escaped_and_never_links():
    wj = text.WORD_JOINER
    assert text.md("**Rifadin** ![x](http://e.test/i.png)\n# h") == (
        r"\*\*Rifadin\*\* \!\[x\]\(http\:\/\/" + wj + r"e\.test\/i\.png\) \# h"
    )
    assert text.md("www.e.test a@e.test $1$ :red[x] <b>&amp;") == (
        "www" + wj + r"\.e\.test a\@" + wj + r"e\.test \$1\$ \:red\[x\] \<b\>\&amp\;"
    )
    assert shown(text.md("St. John’s wort; \u202erifampin")) == "St. John’s wort; rifampin"


# -- one source of numbers: the page and `dqm decide` agree --------------------------------------


QUANTITIES = st_h.one_of(
    st_h.integers(1, 600).map(str),
    st_h.decimals(0, 400, places=6, allow_nan=False, allow_infinity=False).map(lambda d: f"{d:f}"),
    st_h.sampled_from(
        [
            "60",
            "60.00001",
            "59.999999",
            "180.0000001",
            "270",
            "1234567",
            "1000000",
            "1000001",
            "1e20",
            "1,080",
            "-5",
            "0",
            " 75 ",
            "\uff16\uff10",
        ]
    ),
)
CLAIMS = st_h.fixed_dictionaries(
    {
        "product_id": st_h.sampled_from([PRODUCT_400, "imatinib-100mg-tab"]),
        "channel": st_h.sampled_from(["retail", "home_delivery"]),
        "quantity": QUANTITIES,
        "drugs": st_h.sampled_from(
            [
                [],
                ["rifampin"],
                ["Rifadin"],
                ["carbamazepine"],
                ["lisinopril"],
                ["rifampin", "lisinopril"],
            ]
        ),
    }
)


def decided_by_the_command(claims: list[dict], exports, tmp_path) -> list[dict]:
    from compiler import cli

    path = tmp_path / "claims.csv"
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["claim_id", "product_id", "channel", "quantity", "concomitant_drugs"])
        for i, c in enumerate(claims):
            writer.writerow(
                [i, c["product_id"], c["channel"], c["quantity"], "; ".join(c["drugs"])]
            )
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True)
    with contextlib.redirect_stdout(out):
        code = cli.main(
            ["decide", str(path), "--ruleset", "oncology-dqm", "--exports", str(exports)]
        )
    assert code == 0
    return list(csv.DictReader(io.StringIO(out.buffer.getvalue().decode())))


@settings(
    max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(claims=st_h.lists(CLAIMS, min_size=8, max_size=8))
def test_the_one_claim_page_and_dqm_decide_agree_on_every_quantity(claims, exports, tmp_path):
    from compiler.vocabulary import format_number

    expected = decided_by_the_command(claims, exports, tmp_path)
    at = open_app()
    for claim, row in zip(claims, expected, strict=True):
        enter_claim(at, claim["product_id"], claim["channel"], claim["quantity"], claim["drugs"])
        assert not at.exception, [e.message for e in at.exception]
        badge = {
            "approve": "Approve",
            "override": "Override",
            "deny": "Deny",
            "invalid": "Invalid claim",
        }
        approved = row["approved_quantity"]
        assert (
            shown(at.markdown[0].value).split(" ", 1)[1].rstrip("]").split(" ", 1)[1],
            metrics(at)["Approved quantity"],
            shown(at.info[0].value),
        ) == (
            badge[row["decision"]],
            format_number(float(approved)) if approved else "—",
            row["message"],
        ), claim
