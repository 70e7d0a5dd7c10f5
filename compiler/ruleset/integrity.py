"""What a reader checks of a version file beyond its schema and its sha256: that `content_sha256`
is the hash of its rules, that its dates are calendar dates, and that it is consistent (every id
it refers to is there, every id and code is used once, every override's cap is above its limit).
A file that fails was not written by dqm compile, whose workbook rules guarantee all of it; the
engine, the JDM graph and a downstream reader may then rely on it. Plain Python: the store
imports it without importing any stage.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from ..effective import latest_review_date
from ..vocabulary import CHANNELS, CODE_SYSTEMS, MAX_QTY_FIELDS, format_number

# What a ruleset *says*; its content hash decides whether anything changed. The source file and
# the workbook's own Tests travel with a version but are not rules.
CONTENT_KEYS = ("ruleset_id", "title", "owner", "policies", "criteria", "drug_lists")
_CHANNEL_WORDS = {channel: channel.replace("_", " ") for channel in CHANNELS}


def content_sha256(doc: dict[str, Any]) -> str:
    """Hash of what the ruleset says, independent of the file it came from (and of the schema
    it is written in): a product without codes, and an effective date that is the latest History
    Review Date (what a version without one takes effect on), are hashed as a schema-1 version
    writes them, without the field. So rules that say what a published version says hash as it
    does, and publish nothing."""
    rules = {k: doc[k] for k in CONTENT_KEYS}
    if any("codes" in p and not p["codes"] for pol in doc["policies"] for p in pol["products"]):
        rules["policies"] = [
            {
                **pol,
                "products": [
                    p if p.get("codes") else {k: v for k, v in p.items() if k != "codes"}
                    for p in pol["products"]
                ],
            }
            for pol in doc["policies"]
        ]
    if "effective_date" in doc and doc["effective_date"] != latest_review_date(doc):
        rules["effective_date"] = doc["effective_date"]
    return hashlib.sha256(orjson.dumps(rules, option=orjson.OPT_SORT_KEYS)).hexdigest()


def content_changed(doc: dict[str, Any]) -> bool:
    """Whether `content_sha256` is not the hash of the version's rules (edited and re-sealed)."""
    return content_sha256(doc) != doc["content_sha256"]


def first_problem(doc: dict[str, Any]) -> str | None:
    """The first inconsistency of a schema-valid version, in words (None when it has none)."""
    return next(_problems(doc), None)


def _problems(doc: dict[str, Any]) -> Iterator[str]:
    yield from _dates(doc)
    policies = doc["policies"]
    products = [p for policy in policies for p in policy["products"]]
    yield from _twice("policy id", (p["policy_id"] for p in policies))
    yield from _twice("product id", (p["product_id"] for p in products))
    yield from _twice("criterion id", (c["criterion_id"] for c in doc["criteria"]))
    yield from _twice("drug list id", (d["drug_list_id"] for d in doc["drug_lists"]))
    yield from _twice("test id", (t["test_id"] for t in doc["tests"]))
    yield from _codes_twice(products)
    lists = {d["drug_list_id"] for d in doc["drug_lists"]}
    for c in doc["criteria"]:
        list_id = c["drug_list_id"]
        if c["met_when"] == "concomitant_drug_on_list" and list_id not in lists:
            yield (
                f"criterion {c['criterion_id']} is met by a drug on a list but names "
                + (
                    "no drug list"
                    if list_id is None
                    else f"drug list {list_id}, which the version does not have"
                )
            )
    criteria = {c["criterion_id"] for c in doc["criteria"]}
    yield from _overrides(products, criteria)
    product_ids = {p["product_id"] for p in products}
    for t in doc["tests"]:
        if t["product_id"] not in product_ids:
            yield f"test {t['test_id']} names product {t['product_id']}, which the version does not have"


def _overrides(products: list[dict[str, Any]], criteria: set[str]) -> Iterator[str]:
    """An override names a criterion the version has, once per product, and its cap for each
    channel is above the product's limit (else the override could never approve more)."""
    for p in products:
        seen = set()
        for o in p["overrides"]:
            criterion_id = o["criterion_id"]
            if criterion_id not in criteria:
                yield f"{_override(p, o)} names a criterion the version does not have"
            if criterion_id in seen:
                yield f"product {p['product_id']} has two overrides for {criterion_id}"
            seen.add(criterion_id)
            for channel, field in MAX_QTY_FIELDS.items():
                if o[field] <= p[field]:
                    yield (
                        f"{_override(p, o)} caps {_CHANNEL_WORDS[channel]} at "
                        f"{format_number(o[field])}, not above the product's limit of "
                        f"{format_number(p[field])}"
                    )


def _override(product: dict[str, Any], override: dict[str, Any]) -> str:
    return f"product {product['product_id']}'s override for criterion {override['criterion_id']}"


def _twice(what: str, ids: Iterable[str]) -> Iterator[str]:
    for value, count in Counter(ids).items():
        if count > 1:
            yield f"{what} {value} is used {_times(count)}"


def _codes_twice(products: list[dict[str, Any]]) -> Iterator[str]:
    """One code names one product: a code listed twice, for one product or two, is ambiguous."""
    counts = Counter((c["code_system"], c["code"]) for p in products for c in p.get("codes", ()))
    for (system, code), count in counts.items():
        if count > 1:
            ids = [
                p["product_id"]
                for p in products
                for c in p.get("codes", ())
                if (c["code_system"], c["code"]) == (system, code)
            ]
            yield f"{CODE_SYSTEMS[system]} {code} is used {_times(count)} (products {', '.join(ids)})"


def _dates(doc: dict[str, Any]) -> Iterator[str]:
    """The schema checks a date's shape (YYYY-MM-DD); a reader needs a day on the calendar."""
    if doc.get("effective_date") is not None and not _is_date(doc["effective_date"]):
        yield f"its effective_date {doc['effective_date']} is not a calendar date"
    for policy in doc["policies"]:
        if not _is_date(policy["review_date"]):
            yield (
                f"policy {policy['policy_id']}'s review_date {policy['review_date']} "
                "is not a calendar date"
            )
        for h in policy["history"]:
            if not _is_date(h["review_date"]):
                yield (
                    f"policy {policy['policy_id']}'s History review_date {h['review_date']} "
                    "is not a calendar date"
                )


def _is_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _times(count: int) -> str:
    return "twice" if count == 2 else f"{count} times"
