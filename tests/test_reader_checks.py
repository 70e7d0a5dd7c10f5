"""A reader refuses, in one line, a version file that is schema-valid and sealed but inconsistent
(the contract's "Exports"), whichever way it is read: a version file's path, a ruleset's versions
by date of service, one version by number. Each file here is re-sealed (content_sha256, then
sha256) as a publisher would, so only the inconsistency is left to find."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from compiler.ruleset.integrity import content_sha256
from compiler.ruleset.sealing import canonical_bytes, seal
from compiler.ruleset.store import Store
from tests.fixtures.paths import EXPORTS

V1 = json.loads((EXPORTS / "oncology-dqm" / "v1.json").read_text())
V4 = json.loads((EXPORTS / "oncology-dqm" / "v4.json").read_text())
CLAIMS = (
    "claim_id,product_id,channel,quantity,concomitant_drugs\n"
    "C1,imatinib-400mg-tab,retail,120,rifampin\n"
)
TAIL = " It was not written by dqm compile; use a published version.\n"


def resealed(doc: dict) -> bytes:
    """A version's canonical bytes with both hashes made again for what it now holds."""
    return canonical_bytes(seal({**doc, "content_sha256": content_sha256(doc)}))


def edited(edit: Callable[[dict], None], base: dict = V4) -> dict:
    doc = copy.deepcopy(base)
    edit(doc)
    return doc


def product(doc: dict, i: int) -> dict:
    return doc["policies"][0]["products"][i]  # 0: 100 mg tablets, 1: 400 mg tablets


def second_policy(doc: dict) -> None:
    other = copy.deepcopy(doc["policies"][0])
    other["policy_id"] = "imatinib-per-rx-copy"
    doc["policies"].append(other)


def rename_drug_list(doc: dict) -> None:
    doc["criteria"][0]["drug_list_id"] = "strong-cyp2c9-inducers"


def reuse_ndc(doc: dict) -> None:
    product(doc, 0)["codes"][0]["code"] = product(doc, 1)["codes"][2]["code"]


def twice_in_one_product(doc: dict) -> None:
    codes = product(doc, 1)["codes"]
    codes.append(copy.deepcopy(codes[-1]))


def duplicate_override(doc: dict) -> None:
    overrides = product(doc, 1)["overrides"]
    overrides.append(copy.deepcopy(overrides[0]))


def test_the_published_versions_are_consistent():
    assert [Store(EXPORTS).load("oncology-dqm", v)["version"] for v in (1, 2, 3, 4)] == [1, 2, 3, 4]


INCONSISTENT = [
    (
        lambda d: product(d, 1)["overrides"][0].update(criterion_id="strong-cyp2c9-inducer"),
        "product imatinib-400mg-tab's override for criterion strong-cyp2c9-inducer names a "
        "criterion the version does not have",
    ),
    (
        lambda d: product(d, 1)["overrides"][0].update(retail_max_qty=60),
        "product imatinib-400mg-tab's override for criterion strong-cyp3a4-inducer caps retail "
        "at 60, not above the product's limit of 60",
    ),
    (
        lambda d: product(d, 1)["overrides"][0].update(home_delivery_max_qty=120.5),
        "product imatinib-400mg-tab's override for criterion strong-cyp3a4-inducer caps home "
        "delivery at 120.5, not above the product's limit of 180",
    ),
    (duplicate_override, "product imatinib-400mg-tab has two overrides for strong-cyp3a4-inducer"),
    (
        lambda d: product(d, 0).update(product_id="imatinib-400mg-tab"),
        "product id imatinib-400mg-tab is used twice",
    ),
    (second_policy, "product id imatinib-100mg-tab is used twice"),
    (
        lambda d: d["policies"].append(copy.deepcopy(d["policies"][0])),
        "policy id imatinib-per-rx is used twice",
    ),
    (reuse_ndc, "NDC 47335047583 is used twice (products imatinib-100mg-tab, imatinib-400mg-tab)"),
    (
        twice_in_one_product,
        "RxCUI 404589 is used twice (products imatinib-400mg-tab, imatinib-400mg-tab)",
    ),
    (
        rename_drug_list,
        "criterion strong-cyp3a4-inducer is met by a drug on a list but names drug list "
        "strong-cyp2c9-inducers, which the version does not have",
    ),
    (
        lambda d: d["criteria"][0].update(drug_list_id=None),
        "criterion strong-cyp3a4-inducer is met by a drug on a list but names no drug list",
    ),
    (
        lambda d: d["criteria"].append(copy.deepcopy(d["criteria"][0])),
        "criterion id strong-cyp3a4-inducer is used twice",
    ),
    (
        lambda d: d["drug_lists"].append(copy.deepcopy(d["drug_lists"][0])),
        "drug list id strong-cyp3a4-inducers is used twice",
    ),
    (
        lambda d: d["tests"][0].update(product_id="imatinib-800mg-tab"),
        "test 100-home-at-limit names product imatinib-800mg-tab, which the version does not have",
    ),
    (
        lambda d: d.update(effective_date="2025-02-30"),
        "its effective_date 2025-02-30 is not a calendar date",
    ),
    (
        lambda d: d["policies"][0]["history"][0].update(review_date="2023-02-29"),
        "policy imatinib-per-rx's History review_date 2023-02-29 is not a calendar date",
    ),
    (
        lambda d: d["policies"][0].update(review_date="2026-13-01"),
        "policy imatinib-per-rx's review_date 2026-13-01 is not a calendar date",
    ),
]


def decide_by_file(dqm, tmp_path: Path, data: bytes, name: str = "v4.json"):
    """`dqm decide` of CLAIMS by a version file holding `data`: the file's path, and the run."""
    path = tmp_path / name
    path.write_bytes(data)
    claims = tmp_path / "claims.csv"
    claims.write_text(CLAIMS)
    return path, dqm("decide", claims, "--ruleset", path)


@pytest.mark.parametrize("edit, problem", INCONSISTENT)
def test_decide_refuses_an_inconsistent_version_file_in_one_line(edit, problem, dqm, tmp_path):
    path, ran = decide_by_file(dqm, tmp_path, resealed(edited(edit)))
    assert ran == (
        2,
        "",
        f"dqm: {path} is inconsistent: {problem}.{TAIL}",
    )


def test_a_schema_1_version_is_checked_as_well(dqm, tmp_path):
    edit = edited(lambda d: product(d, 1).update(product_id="x"), V1)
    path, ran = decide_by_file(dqm, tmp_path, resealed(edit), "v1.json")
    assert ran == (
        2,
        "",
        f"dqm: {path} is inconsistent: test 400-home-at-limit names product imatinib-400mg-tab, "
        f"which the version does not have.{TAIL}",
    )


def published_inconsistent(exports: Path) -> Path:
    """The store's v4 replaced by one whose override names a missing criterion (and the index
    made again by the store, as a publisher would: only the version is wrong)."""
    path = exports / "oncology-dqm" / "v4.json"
    path.write_bytes(resealed(edited(INCONSISTENT[0][0])))
    return path


@pytest.mark.parametrize(
    "args",
    [
        ["--ruleset", "oncology-dqm"],  # the versions by date of service: every one is read
        ["--ruleset", "oncology-dqm", "--version", "4"],
        ["--ruleset", "oncology-dqm", "--as-of", "2027-01-01"],
    ],
)
def test_every_reader_of_the_store_refuses_it(args, dqm, exports_copy, tmp_path):
    path = published_inconsistent(exports_copy)
    claims = tmp_path / "claims.csv"
    claims.write_text(CLAIMS)
    assert dqm("decide", claims, *args, "--exports", exports_copy) == (
        2,
        "",
        f"dqm: {path} is inconsistent: {INCONSISTENT[0][1]}.{TAIL}",
    )
    assert dqm("versions", "--exports", exports_copy).err == (
        f"dqm: {path} is inconsistent: {INCONSISTENT[0][1]}.{TAIL}"
    )


def test_content_sha256_is_verified_on_read(dqm, tmp_path):
    # The rules changed and only `sha256` sealed again: content_sha256 no longer describes them.
    doc = edited(lambda d: product(d, 1).update(retail_max_qty=61))
    path, ran = decide_by_file(dqm, tmp_path, canonical_bytes(seal(doc)))
    assert ran == (
        2,
        "",
        f"dqm: {path} has been changed since it was published (its content_sha256 does not "
        "match its content). Restore it from version control; never edit exports by hand.\n",
    )


def test_an_index_with_a_date_not_on_the_calendar_is_refused(dqm, exports_copy):
    # index.json is derived from the version files: a reader compares it with them.
    path = exports_copy / "oncology-dqm" / "index.json"
    index = json.loads(path.read_text())
    index["versions"][3]["effective_date"] = "2025-02-30"
    path.write_bytes(canonical_bytes(index))
    assert dqm("versions", "--exports", exports_copy) == (
        2,
        "",
        f"dqm: {path} does not list the version files as they are (edited by hand, or a publish "
        "was cut short); `dqm compile` of the workbook writes it again.\n",
    )
