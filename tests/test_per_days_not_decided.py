"""Until claims are decided against a member's earlier fills, a version with a Per Days limit
decides no claim: `dqm decide`, `dqm impact`, the API and the app refuse it in one line, rather
than decide each claim alone (which would approve a member's second fill of the window as if it
were the first). Publishing and reading such a version work."""

from __future__ import annotations

import pytest

import compiler
from compiler.ruleset.compile import compile_workbook
from tests.fixtures import per_days

REFUSAL = (
    "oncology-dqm v1 limits sumatriptan-100mg-tab Per Days (over a window of days), which is "
    "decided against each member's earlier fills; this dqm does not decide Per Days limits yet, "
    "so it decides no claim by this version rather than decide them wrongly."
)


@pytest.fixture
def exports(tmp_path, make_workbook):
    exports = tmp_path / "exports"
    assert compile_workbook(make_workbook(per_days.rows()), exports).outcome.version == 1
    return exports


def test_dqm_decide_and_impact_refuse_a_per_days_version_in_one_line(dqm, exports, tmp_path):
    claims = tmp_path / "claims.csv"
    claims.write_text("product_id,channel,quantity\nimatinib-400mg-tab,retail,60\n")
    assert dqm("decide", claims, "--ruleset", "oncology-dqm", "--exports", exports) == (
        2,
        "",
        f"dqm: {REFUSAL}\n",
    )
    assert dqm("impact", "oncology-dqm", "1", "1", claims, "--exports", exports) == (
        2,
        "",
        f"dqm: {REFUSAL}\n",
    )
    assert dqm("versions", "--exports", exports).code == 0  # read and listed as ever
    with pytest.raises(compiler.StoreError, match="does not decide Per Days limits yet"):
        compiler.decide_claims(
            [{"product_id": "x", "channel": "retail", "quantity": "1"}],
            "oncology-dqm",
            exports=exports,
        )
