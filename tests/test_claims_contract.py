"""Claims read as the contract's "Claims file" says: quoted cells that hold line breaks at any
size (across the reader's 8 MB blocks), channels compared ignoring case with spaces, `-` and `_`
alike, product ids ignoring case and surrounding spaces, and dates of service on the calendar."""

from __future__ import annotations

import json

import pytest

from compiler.decide.sources import BLOCK_BYTES
from compiler.decide.writer import JSON_ROWS

ROWS = 45_000
NOTE = "x" * 160  # each row ~230 bytes: the file spans two of the reader's blocks
# What dqm decide says of claims without dates, decided by a ruleset of more than one version.
LATEST = (
    "dqm: the claims have no date_of_service column, so every claim was decided by the latest "
    "version, v4 (in effect from 2025-12-08).\n"
)


def line_broken_claims() -> str:
    """Claims whose concomitant_drugs each hold a quoted line break (and a quoted comma); every
    third takes rifampin, so its claim over the limit is an override."""
    rows = ["claim_id,product_id,channel,quantity,concomitant_drugs"]
    for i in range(ROWS):
        drug = "rifampin" if i % 3 == 0 else "metformin"
        rows.append(
            f'C{i},imatinib-400mg-tab,retail,{55 + i % 10},"lisinopril, {NOTE}\r\n{drug}; aspirin"'
        )
    return "\n".join(rows) + "\n"


@pytest.mark.parametrize("fmt", ["json", "jsonl"])  # each written in slices of JSON_ROWS
def test_quoted_line_breaks_decide_at_any_size(fmt, dqm, tmp_path):
    path = tmp_path / "claims.csv"
    path.write_text(line_broken_claims(), newline="")
    assert path.stat().st_size > BLOCK_BYTES and ROWS > 2 * JSON_ROWS
    code, out, err = dqm("decide", path, "--ruleset", "oncology-dqm", "--format", fmt)
    assert (code, err) == (0, LATEST)
    decided = json.loads(out) if fmt == "json" else [json.loads(x) for x in out.splitlines()]
    assert len(decided) == ROWS
    assert [d["claim_id"] for d in decided] == [f"C{i}" for i in range(ROWS)]
    assert {d["decision"] for d in decided} == {"approve", "override", "deny"}

    def brief(i: int) -> tuple:
        d = decided[i]
        return (
            d["claim_id"],
            d["quantity"],
            d["decision"],
            d["approved_quantity"],
            d["matched_drugs"],
        )

    assert [brief(i) for i in (0, 6, 7, 36_003, 36_006, ROWS - 1)] == [
        ("C0", 55, "approve", 55, None),
        ("C6", 61, "override", 61, f"lisinopril, {NOTE}\r\nrifampin"),
        ("C7", 62, "deny", 0, None),
        ("C36003", 58, "approve", 58, None),
        ("C36006", 61, "override", 61, f"lisinopril, {NOTE}\r\nrifampin"),
        ("C44999", 64, "deny", 0, None),
    ]
    # Over the limit (quantity 61 to 64) with rifampin: 4 claims in every 30.
    assert sum(d["decision"] == "override" for d in decided) == 6_000


@pytest.mark.parametrize(
    "channel, decided",
    [
        ("retail", "retail"),
        ("RETAIL", "retail"),
        (" Retail\t", "retail"),
        ("_retail_", "retail"),
        ("home_delivery", "home_delivery"),
        ("Home Delivery", "home_delivery"),
        ("home-delivery", "home_delivery"),
        ("HOME_DELIVERY", "home_delivery"),
        ("home  delivery", "home_delivery"),  # a run of separators is one
        ("home - delivery", "home_delivery"),
        ("Home\u00a0Delivery", "home_delivery"),  # a no-break space is a space
    ],
)
def test_a_channel_is_compared_ignoring_case_with_spaces_hyphens_and_underscores_alike(
    channel, decided, dqm, tmp_path
):
    got = decide_one(dqm, tmp_path, channel=channel)
    assert (got["channel"], got["decision"], got["limit"]) == (
        decided,
        "approve",
        60 if decided == "retail" else 180,
    )


@pytest.mark.parametrize("channel", ["homedelivery", "home.delivery", "re tail", "mail"])
def test_any_other_channel_is_invalid_and_echoed(channel, dqm, tmp_path):
    got = decide_one(dqm, tmp_path, channel=channel)
    assert (got["channel"], got["decision"], got["message"]) == (
        channel,
        "invalid",
        f"Invalid: channel '{channel}' is not retail or home_delivery.",
    )


@pytest.mark.parametrize(
    "product_id", ["IMATINIB-400MG-TAB", "  Imatinib-400mg-Tab ", "\timatinib-400mg-tab"]
)
def test_a_product_id_is_compared_ignoring_case_and_surrounding_spaces(product_id, dqm, tmp_path):
    got = decide_one(dqm, tmp_path, product_id=product_id)
    assert (got["product_id"], got["policy_id"], got["decision"], got["limit"]) == (
        product_id,  # echoed as given
        "imatinib-per-rx",
        "approve",
        60,
    )


def test_a_product_id_with_other_characters_names_no_product(dqm, tmp_path):
    got = decide_one(dqm, tmp_path, product_id="imatinib 400mg tab")
    assert (got["decision"], got["message"]) == (
        "not_applicable",
        "Ruleset oncology-dqm v4 has no quantity limit for product 'imatinib 400mg tab'.",
    )


@pytest.mark.parametrize(
    "date_of_service, echoed, decision",
    [
        ("2025-02-30", "2025-02-30", "invalid"),
        ("20250230", "20250230", "invalid"),
        ("2026-13-01", "2026-13-01", "invalid"),
        ("2024-02-29", "2024-02-29", "approve"),
        ("20240229", "2024-02-29", "approve"),  # a date is echoed in ISO form
    ],
)
def test_a_date_of_service_must_be_on_the_calendar(
    date_of_service, echoed, decision, dqm, tmp_path
):
    got = decide_one(dqm, tmp_path, date_of_service=date_of_service)
    assert (got["date_of_service"], got["decision"]) == (echoed, decision)
    if decision == "invalid":
        assert got["message"] == (
            f"Invalid: date_of_service '{date_of_service}' is not a date: write it as "
            "YYYY-MM-DD or YYYYMMDD."
        )


def decide_one(dqm, tmp_path, **claim) -> dict:
    claim = {"product_id": "imatinib-400mg-tab", "channel": "retail", "quantity": "60", **claim}
    path = tmp_path / "claim.csv"
    quoted = ['"' + v.replace('"', '""') + '"' for v in claim.values()]
    path.write_text(",".join(claim) + "\n" + ",".join(quoted) + "\n", newline="")
    code, out, err = dqm("decide", path, "--ruleset", "oncology-dqm", "--format", "json")
    assert (code, err) == (0, "" if "date_of_service" in claim else LATEST)
    [decided] = json.loads(out)
    return decided


def test_jsonl_is_one_object_per_line_whatever_the_text_holds(dqm, tmp_path):
    # Text that looks like the seam between two objects stays inside its string.
    tricky = ['a},{"claim_id":"b', '},{"claim_id":', "x}\n{y", '{"', "\\", "},{"]
    path = tmp_path / "claims.csv"
    rows = ["claim_id,product_id,channel,quantity,concomitant_drugs"]
    rows += [
        '"' + t.replace('"', '""') + f'",imatinib-400mg-tab,retail,61,"{i}"'
        for i, t in enumerate(tricky)
    ]
    path.write_text("\n".join(rows) + "\n", newline="")
    code, out, err = dqm("decide", path, "--ruleset", "oncology-dqm", "--format", "jsonl")
    assert (code, err) == (0, LATEST)
    assert [json.loads(line)["claim_id"] for line in out.split("\n")[:-1]] == tricky
    assert out.endswith("}\n") and out.count("\n") == len(tricky)
