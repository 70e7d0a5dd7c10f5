"""The Batch page reads an uploaded claims CSV as `dqm decide` does: the columns the contract does
not know named in the same sentence, each offered a claims column to be read as (`--column`), and
a quote left open refused in the same one line."""

from __future__ import annotations

import pytest

from app_pages import memo
from compiler.decide.csvtext import ignored_columns_note
from tests.test_app import metrics, open_app, shown, table


@pytest.fixture
def exports(exports_copy, monkeypatch):
    monkeypatch.setenv("DQM_EXPORTS", str(exports_copy))
    memo.clear_caches(keep_content=True)
    yield exports_copy
    memo.clear_caches(keep_content=True)


EXPORT = (
    b"claim_id,product_id,channel,qty,fill_date\n"
    b"a,imatinib-400mg-tab,retail,120,2026-01-01\n"
    b"b,imatinib-400mg-tab,retail,60,2026-01-01\n"
)


def test_unknown_columns_are_named_and_can_be_read_as_claims_columns(exports):
    at = open_app("batch")
    at.file_uploader(key="batch_upload").upload("export.csv", EXPORT, "text/csv")
    at.run()
    assert not at.exception
    assert shown(at.error[0].value).startswith("export.csv: The claims file has no quantity column")
    file_id = next(k for k in at.session_state if str(k).startswith("batch_column:")).split(":")[1]
    at.selectbox(key=f"batch_column:{file_id}:0").select("quantity").run()
    assert not at.exception and not at.error
    note = ignored_columns_note(["fill_date"])
    assert note == "ignored column(s) not in the claims contract: fill_date."
    assert [shown(i.value) for i in at.info] == [f"export.csv: {note}"]
    at.selectbox(key=f"batch_column:{file_id}:1").select("date_of_service").run()
    assert not at.info
    at.button(key="batch_decide").click().run()
    assert not at.exception
    decisions = table(at, "batch_decisions")
    assert list(decisions["decision"]) == ["deny", "approve"]
    assert list(decisions["date_of_service"]) == ["2026-01-01", "2026-01-01"]
    assert metrics(at)["deny"] == "1"


def test_a_quote_left_open_is_refused_on_the_page(exports):
    lines = [b"claim_id,product_id,channel,quantity,concomitant_drugs"] + [
        b"C%d,imatinib-400mg-tab,retail,60," % i for i in range(1, 1_001)
    ]
    lines[3] = b'C3,imatinib-400mg-tab,retail,120,"Rifadin'
    at = open_app("batch")
    at.file_uploader(key="batch_upload").upload("open.csv", b"\n".join(lines) + b"\n", "text/csv")
    at.run()
    assert not at.exception
    assert [shown(e.value) for e in at.error] == [
        'open.csv: The claims file: line 4 opens a quoted value (") that is never closed, so the '
        "rest of the file would be read as one value; close the quote, or remove it."
    ]
