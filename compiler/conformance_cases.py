"""The claims of the conformance vectors (compiler/conformance.py decides them): cases made from
each published version's own products, overrides, codes and drug lists, so every branch of the
decision is met for any ruleset, and a few hand-picked extras for the bundled ones."""

from __future__ import annotations

import datetime as dt
from typing import Any

from .conformance_codes import CODES_ACROSS_VERSIONS
from .effective import takes_effect
from .ruleset.store import Store
from .vocabulary import CHANNELS, MAX_QTY_FIELDS, format_number

Claim = dict[str, str]
CHANNEL_SPELLINGS = {
    "retail": ["retail", "RETAIL", " Retail "],
    "home_delivery": ["home_delivery", "Home Delivery", "home-delivery"],
}


def cases_for(store: Store, ruleset_id: str) -> list[dict[str, Any]]:
    """Every case for one ruleset: each version's own cases, decided by that version, then the
    cases that choose the version by date of service."""
    versions = {v: store.load(ruleset_id, v) for v in store.versions(ruleset_id)}
    out = []
    for v, doc in versions.items():
        out += [{**c, "version": v} for c in version_cases(doc)]
    out += dated_cases(versions)
    out += claim_text_cases(versions[max(versions)])
    out += [{**c, "version": c.get("version")} for c in EXTRAS.get(ruleset_id, [])]
    out += CODES_ACROSS_VERSIONS.get(ruleset_id, [])
    if any("retail_days" in p for d in versions.values() for pol in d["policies"]
           for p in pol["products"]):  # fmt: skip
        out += [{**c, "version": None} for c in PER_DAYS.get(ruleset_id, [])]
    return out


def _q(x: float) -> str:
    return format_number(x, thousands=False)


def version_cases(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Approve at the limit, deny one over, each override below, at and over its maximum on each
    channel, each code, and every invalid and not-applicable reason, for one version."""
    criteria = {c["criterion_id"]: c for c in doc["criteria"]}
    lists = {dl["drug_list_id"]: dl["drugs"] for dl in doc["drug_lists"]}
    products = [(pol, p) for pol in doc["policies"] for p in pol["products"]]
    cases: list[dict[str, Any]] = []

    placed: Claim = {}  # the product's: a member and a date for a Per Days one

    def case(name: str, **claim: str) -> None:
        cases.append({"name": name, "claims": [{**claim, **placed}]})

    for i, (_, p) in enumerate(products):
        pid = p["product_id"]
        # A Per Days product's claim needs a member and a date (alone in its run: nothing counts)
        placed = {"member_id": "M1", "date_of_service": "2030-01-01"} if "retail_days" in p else {}
        for channel in CHANNELS:
            spelled = CHANNEL_SPELLINGS[channel][i % 3]
            limit = p[MAX_QTY_FIELDS[channel]]
            case(
                f"{pid} {channel} at the limit", product_id=pid, channel=spelled, quantity=_q(limit)
            )
            case(
                f"{pid} {channel} one over", product_id=pid, channel=channel, quantity=_q(limit + 1)
            )
            for o in p["overrides"]:
                c = criteria[o["criterion_id"]]
                if c["met_when"] == "attested":
                    met = {"attested_criteria": c["criterion_id"].upper()}
                else:
                    drug = lists[c["drug_list_id"]][0]
                    met = {"concomitant_drugs": f"lisinopril; {drug['drug']} 10 mg"}
                cap = o[MAX_QTY_FIELDS[channel]]
                for label, qty in (("below", (limit + cap) / 2), ("at", cap), ("over", cap + 10)):
                    case(
                        f"{pid} {channel} {o['criterion_id']} {label} its maximum",
                        product_id=pid, channel=channel, quantity=_q(qty), **met,
                    )  # fmt: skip
                case(
                    f"{pid} {channel} over the limit, {o['criterion_id']} not met",
                    product_id=pid, channel=channel, quantity=_q(limit + 1),
                    concomitant_drugs="lisinopril", attested_criteria="",
                )  # fmt: skip
        for code in p.get("codes", ()):
            case(f"{pid} by {code['code_system']} {code['code']}", **{code["code_system"]: code["code"]},
                 channel="retail", quantity="1")  # fmt: skip
        for system in ("ndc", "rxcui"):
            given = [c["code"] for c in p.get("codes", ()) if c["code_system"] == system]
            if given:
                case(f"{pid} and its own {system}", product_id=pid, **{system: given[0]},
                     channel="retail", quantity="1")  # fmt: skip
    placed = {}
    pol, p = products[0]
    pid = p["product_id"]
    others = [q for _, q in products if q is not p]
    # Not applicable: a product, an NDC, an RxCUI the version does not have.
    case("unknown product", product_id="no-such-product", channel="retail", quantity="1")
    case("unknown NDC", ndc="00000-0000-00", channel="retail", quantity="1")
    case("unknown RxCUI", rxcui="999999999", channel="retail", quantity="1")
    case("unknown product and unknown NDC", product_id="nope", ndc="00000-0000-00",
         channel="retail", quantity="1")  # fmt: skip
    # Invalid, each reason alone.
    base = {"product_id": pid, "channel": "retail", "quantity": "1"}
    for name, change in [
        ("no product", {"product_id": ""}),
        ("malformed NDC", {"ndc": "4733547583"}),
        ("malformed RxCUI", {"rxcui": "12a"}),
        ("known product, unknown NDC", {"ndc": "00000-0000-00"}),
        ("unknown channel", {"channel": "mail"}),
        ("missing channel", {"channel": ""}),
        ("missing quantity", {"quantity": ""}),
        ("quantity not a number", {"quantity": "abc"}),
        ("quantity not plain", {"quantity": "1e3"}),
        ("quantity with a sign", {"quantity": "+5"}),
        ("quantity 0", {"quantity": "0"}),
        ("quantity negative", {"quantity": "-5"}),
        ("quantity over 1,000,000", {"quantity": "1000000.5"}),
        ("quantity 1,000,000", {"quantity": "1000000"}),
        ("quantity non-ASCII digits", {"quantity": "６０"}),
        # The decision echoes a quantity that is not a number as given, spaces and all (§7).
        ("quantity a word with spaces", {"quantity": " ten "}),
        ("quantity with a separator", {"quantity": "1,080"}),
        ("quantity only spaces", {"quantity": "  "}),
        ("quantity spaced, a number", {"quantity": " 1 "}),
        ("quantity over 1,000,000, whole", {"quantity": "2000000"}),
        ("malformed date", {"date_of_service": "2024-02-30"}),
        ("date not in the grammar", {"date_of_service": "06/01/2024"}),
        ("unknown attested criterion", {"attested_criteria": "no-such-criterion"}),
        ("two problems", {"channel": "mail", "quantity": "0"}),
    ]:
        case(name, **{**base, **change})
    if others:
        q = others[0]
        case("product_id and another product's code disagree", product_id=pid, channel="retail",
             quantity="1", **_first_code(q))  # fmt: skip
        case("unknown product_id with a known code", product_id="nope", channel="retail",
             quantity="1", **_first_code(q))  # fmt: skip
    cases.append(
        {
            "name": "default claim ids: the claim's 1-based position",
            "claims": [
                {"product_id": pid, "channel": "retail", "quantity": "1"},
                {"claim_id": "given-id", "product_id": pid, "channel": "retail", "quantity": "1"},
                {"product_id": pid, "channel": "retail", "quantity": "1"},
            ],
        }
    )
    return [c for c in cases if all(_given(claim) for claim in c["claims"])]


def _first_code(product: dict[str, Any]) -> Claim:
    codes = product.get("codes") or [{"code_system": "ndc", "code": "00000-0000-00"}]
    return {codes[0]["code_system"]: codes[0]["code"]}


def _given(claim: Claim) -> bool:
    """A claim names its product somehow, or is meant not to (an empty product_id)."""
    return any(k in claim for k in ("product_id", "ndc", "rxcui"))


def claim_text_cases(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Claims by the latest version (no date) whose texts are at the edges of §3 and §7: a
    product_id of only whitespace is not given (a code names the product; the decision echoes
    that product's id, or null), and whole quantities from 2**53 up are written as integers."""
    products = [p for pol in doc["policies"] for p in pol["products"]]
    coded = next((p for p in products if p.get("codes")), None)
    pid = products[0]["product_id"]
    blank = [
        {"product_id": "  ", "channel": "retail", "quantity": "1"},
        {"product_id": "\t\u3000", "ndc": "00000-0000-00", "channel": "retail", "quantity": "1"},
    ]
    if coded is not None:
        code = coded["codes"][0]
        blank.append({"product_id": "   ", code["code_system"]: code["code"], "channel": "retail",
                      "quantity": "1"})  # fmt: skip
    quantities = ["9007199254740993", "100000000000000000000", "1" + "0" * 25,
                  "12345678901234567.5", "9" * 400]  # fmt: skip
    return [
        {"name": "product_id of only whitespace: not given", "version": None, "claims": blank},
        {
            "name": "whole quantities from 2**53 up: exact integers",
            "version": None,
            "claims": [{"product_id": pid, "channel": "retail", "quantity": q} for q in quantities],
        },
    ]


def dated_cases(versions: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    """Claims dated on and around each version's effective date (and without a date), so the
    version in effect decides: the highest-numbered one in effect on the date."""
    latest = versions[max(versions)]
    pol, p = next((pol, p) for pol in latest["policies"] for p in pol["products"])
    days = set()
    for doc in versions.values():
        start = takes_effect(doc)
        if start != dt.date.min:
            days |= {start - dt.timedelta(days=1), start}
    cases = []
    for day in sorted(days):
        for spelled in (day.isoformat(), f"{day:%Y%m%d}"):
            cases.append(
                {
                    "name": f"dated {spelled}",
                    "version": None,
                    "claims": [
                        {"product_id": p["product_id"], "channel": "retail",
                         "quantity": _q(p["retail_max_qty"]), "date_of_service": spelled},
                        {"product_id": p["product_id"], "channel": "retail",
                         "quantity": "0", "date_of_service": spelled},
                    ],
                }
            )  # fmt: skip
    cases.append(
        {
            "name": "undated: the latest version",
            "version": None,
            "claims": [{"product_id": p["product_id"], "channel": "retail", "quantity": "1"}],
        }
    )
    return cases


EXTRAS: dict[str, list[dict[str, Any]]] = {
    "oncology-dqm": [
        {"name": f"drug spelled {drug!r}", "claims": [
            {"product_id": "imatinib-400mg-tab", "channel": "retail", "quantity": "90",
             "concomitant_drugs": drug}]}
        for drug in [
            "RIFAMPICIN", "Rifadin 300 mg capsule", "St John’s wort", "St. John's Wort",
            "Phenytoin Sodium 100 mg capsule", "rifampin–isoniazid", "Tegretol®XR",
            "carbamazepine→phenytoin", "Dilantin™ 100 mg", "DEXAMÉTHASONE 4 mg", "rif\u00adampin",
            "rifaximin", "rifampinx", "St John wort", "lisinopril; Dexamethasone 4 mg tablet",
            "rifampin;Rifadin ; lisinopril", " ; ;", "ｒｉｆａｍｐｉｎ",
        ]
    ] + [
        {"name": "the founding policy's worked examples", "version": None, "claims": [
            {"claim_id": "a", "product_id": "imatinib-400mg-tab", "channel": "retail", "quantity": "60"},
            {"claim_id": "b", "product_id": "imatinib-400mg-tab", "channel": "retail", "quantity": "61"},
            {"claim_id": "c", "product_id": "imatinib-400mg-tab", "channel": "retail", "quantity": "75",
             "concomitant_drugs": "rifampin"},
            {"claim_id": "d", "product_id": "imatinib-400mg-tab", "channel": "retail", "quantity": "120",
             "concomitant_drugs": "Rifadin"},
            {"claim_id": "e", "product_id": "imatinib-400mg-tab", "channel": "Home Delivery",
             "quantity": "270", "concomitant_drugs": "carbamazepine"},
            {"claim_id": "f", "product_id": "imatinib-100mg-tab", "channel": "retail", "quantity": "181",
             "concomitant_drugs": "rifampin"}]},
        {"name": "NDC on a date whose version has no codes", "version": None, "claims": [
            {"ndc": "47335-475-83", "channel": "retail", "quantity": "60",
             "date_of_service": "2025-01-01"}]},
        {"name": "product id ignoring case and surrounding spaces", "claims": [
            {"product_id": " IMATINIB-400MG-TAB ", "channel": "retail", "quantity": "60"}]},
        {"name": "NDC spellings", "version": 4, "claims": [
            {"ndc": n, "channel": "retail", "quantity": "60"}
            for n in ["47335-475-83", "47335-0475-83", "47335047583", " 47335047583 ",
                      "4733547583", "47335-475-8", "47335 475 83"]]},
        {"name": "RxCUI with leading zeros", "version": 4, "claims": [
            {"rxcui": "0403879", "channel": "retail", "quantity": "60"}]},
        {"name": "a drug-list criterion attested is not met by attesting", "claims": [
            {"product_id": "imatinib-400mg-tab", "channel": "retail", "quantity": "61",
             "attested_criteria": "strong-cyp3a4-inducer"}]},
        {"name": "invalid claim dated before every version", "version": None, "claims": [
            {"product_id": "imatinib-400mg-tab", "channel": "mail", "quantity": "1",
             "date_of_service": "2020-01-01"}]},
        {"name": "fractional quantities", "claims": [
            {"product_id": "imatinib-400mg-tab", "channel": "retail", "quantity": q}
            for q in ["59.5", "60.0", "60.25", " 2.5 ", "0.001"]]},
    ],
    "conformance-demo": [
        {"name": "tie at home delivery: the criterion id that sorts first", "claims": [
            {"product_id": "alpha-10mg-tab", "channel": "home_delivery", "quantity": q,
             "concomitant_drugs": "Rifadin", "attested_criteria": "Attested-Dose; inducer"}
            for q in ["100", "120", "150"]]},
        {"name": "both met at retail: the higher maximum", "claims": [
            {"product_id": "alpha-10mg-tab", "channel": "retail", "quantity": q,
             "concomitant_drugs": "carbamazepine", "attested_criteria": "attested-dose"}
            for q in ["50", "70"]]},
        {"name": "non-ASCII drug names", "claims": [
            {"product_id": "alpha-oral-solution", "channel": "retail", "quantity": "9",
             "concomitant_drugs": d}
            for d in ["ΡΙΦΑΜΠΙΚΙΝΗ 300 mg", "phenobarbital", "PHÉNOBARBITAL", "Luminal®",
                      "St John’s wort", "hypericum–extract"]]},
        {"name": "fractional limits", "claims": [
            {"product_id": "alpha-oral-solution", "channel": c, "quantity": q, "concomitant_drugs": d}
            for c, q, d in [("retail", "7.5", ""), ("retail", "7.6", ""), ("retail", "8", "rifampin"),
                            ("retail", "11", "rifampin"), ("home_delivery", "22.5", ""),
                            ("home_delivery", "22.51", "tegretol")]]},
        {"name": "codes in every layout", "version": None, "claims": [
            {"ndc": n, "channel": "retail", "quantity": "1"}
            for n in ["1234-5678-90", "01234567890", "12345-678-90", "12345067890", "12345-6789-1",
                      "12345678901", "12345-6789-02", "12345678902"]] + [
            {"rxcui": r, "channel": "retail", "quantity": "1"} for r in ["2002", "0002002", "3003"]]},
        {"name": "retired policy, by date", "version": None, "claims": [
            {"product_id": "beta-5mg-cap", "channel": "retail", "quantity": "5",
             "date_of_service": d} for d in ["2024-02-29", "2024-03-01", "2024-07-01", ""]]},
        {"name": "a correction supersedes a version published before it", "version": None, "claims": [
            {"product_id": "alpha-10mg-tab", "channel": "retail", "quantity": "35",
             "date_of_service": d}
            for d in ["2023-12-31", "2024-01-01", "2024-02-29", "2024-03-01", "2024-06-01", "2025-01-01"]]},
    ],
}  # fmt: skip


# -- limits over time (docs/consumers.md §5): runs with the members' earlier fills ---------------

TAB, SPRAY = "sumatriptan-100mg-tab", "sumatriptan-20mg-spray"  # Per Days in v5 (2025-03-01)


def _c(member: str | None, day: str | None, q: str, channel: str = "retail", **more: str) -> Claim:
    """A claim (or, without a channel, a history fill) of sumatriptan tablets unless `more` names
    another product; None leaves a field out."""
    fields = {"member_id": member, "product_id": TAB, "channel": channel, "quantity": q,
              "date_of_service": day, **more}  # fmt: skip
    return {k: v for k, v in fields.items() if v is not None}


def _f(member: str | None, day: str | None, q: str, **more: str) -> Claim:
    return _c(member, day, q, **{"channel": None, **more})  # type: ignore[arg-type]


PER_DAYS: dict[str, list[dict[str, Any]]] = {
    "conformance-demo": [
        {"name": "per days: one date, input order decides; a denial counts nothing", "history": [],
         "claims": [_c("M1", "2025-06-10", q) for q in ("6", "6", "3", "1")]},
        {"name": "per days: claims out of date order count by date", "history": [],
         "claims": [_c("M1", "2025-06-20", "5"), _c("M1", "2025-06-10", "5"),
                    _c("M1", "2025-06-15", "4"), _c("M1", "2025-06-15", "1")]},
        {"name": "per days: retail window edge to edge (W = 30)",
         "history": [_f("in", "2025-06-02", "9"), _f("out", "2025-06-01", "9"),
                     _f("same day", "2025-07-01", "9")],
         "claims": [_c("in", "2025-07-01", "1"), _c("out", "2025-07-01", "9"),
                    _c("same day", "2025-07-01", "1"),
                    _c("run", "2025-06-02", "9"), _c("run", "2025-07-01", "1"),
                    _c("run", "2025-07-02", "1")]},
        {"name": "per days: home delivery window edge to edge (W = 90)",
         "history": [_f("in", "2025-04-01", "27"), _f("out", "2025-03-31", "27")],
         "claims": [_c("in", "2025-06-29", "1", "home_delivery"),
                    _c("in", "2025-06-30", "1", "home_delivery"),
                    _c("out", "2025-06-29", "27", "Home Delivery"),
                    _c("run", "2025-04-01", "27", "home_delivery"),
                    _c("run", "2025-06-29", "1", "home_delivery"),
                    _c("run", "2025-06-30", "1", "home_delivery")]},
        {"name": "per days: an override counts what it approved, capped at C - A", "history": [],
         "claims": [_c("M1", "2025-06-10", q, attested_criteria=a)
                    for q, a in [("12", "frequent-migraine"), ("10", "Frequent-Migraine"),
                                 ("1", "frequent-migraine"), ("1", None), ("9", None)]]},
        {"name": "per days: retail and home delivery share one window, each its own W and L",
         "history": [_f("M1", "2025-05-01", "8", channel="home_delivery")],
         "claims": [_c("M1", "2025-05-20", "19", "home_delivery"), _c("M1", "2025-05-21", "1"),
                    _c("M1", "2025-07-20", "1"), _c("M1", "2025-07-20", "1", "home_delivery"),
                    _c("M1", "2025-07-21", "60", "home_delivery",
                       attested_criteria="frequent-migraine")]},
        {"name": "per days: reversed fills and other members' and products' count nothing",
         "history": [_f("M1", "2025-06-01", "9", status="reversed"),
                     _f(None, "2025-06-01", "9", status=" REVERSED "),
                     _f("M1", "2025-06-02", "5", status="Paid"), _f(" M1 ", "2025-06-03", "1"),
                     _f("m1", "2025-06-03", "9"), _f("M2", "2025-06-03", "9"),
                     _f("M1", "2025-06-03", "9", product_id=SPRAY.upper()),
                     _f(None, "2025-06-03", "30", product_id="alpha-10mg-tab"),
                     _f("M1", "2025-06-03", "1", product_id="no-such-product")],
         "claims": [_c("M1", "2025-06-10", "3"), _c(" M1", "2025-06-10", "0.5"),
                    _c("M3", "2025-06-10", "9", product_id=None, ndc="55111-0291-09"),
                    _c("M3", "2025-06-11", "1", product_id=" SUMATRIPTAN-100MG-TAB ")]},
        {"name": "per days: a version change inside the window (Per Rx decisions count)",
         "history": [_f("M1", "2024-12-31", "100"), _f("M1", "2025-02-15", "4")],
         "claims": [_c("M1", "2025-03-05", "1"), _c("M1", "2025-02-20", "3"),
                    _c("M1", "2025-02-21", "30", attested_criteria="frequent-migraine"),
                    _c("M1", "2025-02-26", "20"), _c("M1", "2025-03-06", "1", "home_delivery"),
                    _c("M1", "2025-03-06", "30", "home_delivery")]},
        {"name": "per days: whole millionths (0.1 + 0.2 is 0.3), rounded half to even",
         "history": [_f("M1", "2025-06-01", "0.0000005", product_id=SPRAY)],
         "claims": [_c("M1", "2025-06-10", q, product_id=SPRAY)
                    for q in ("0.1", "0.2", "0.0000004", "0.0000015", "0.0000006")]
         + [_c("M2", "2025-06-10", q, "home_delivery", product_id=SPRAY)
            for q in ("0.3", "0.6", "0.0000001")]},
        {"name": "per days: no member or no date is invalid", "history": [],
         "claims": [_c(None, "2025-06-10", "1"), _c("  ", "2025-06-10", "1"),
                    _c(None, "2025-06-10", "1", product_id=None, ndc="55111029109"),
                    _c("M1", None, "1"), _c("M1", "  ", "1"), _c("M1", "2025-06-10", "1"),
                    _c(None, "2025-06-10", "1", product_id="alpha-10mg-tab"),
                    _c(None, "2025-02-10", "1"), _c(None, None, "0")]},
        {"name": "per days: a fill with no member stops the run",
         "history": [_f(None, "2025-06-01", "1")], "claims": [_c("M1", "2025-06-10", "1")]},
        {"name": "per days: a fill with no date stops the run",
         "history": [_f("M1", None, "1")], "claims": [_c("M1", "2025-06-10", "1")]},
        {"name": "per days: a fill's quantity out of range stops the run",
         "history": [_f("M1", "2025-06-01", "0")], "claims": [_c("M1", "2025-06-10", "1")]},
        {"name": "per days: a status neither paid nor reversed stops the run",
         "history": [_f("M1", "2025-06-01", "1", status="refunded")],
         "claims": [_c("M1", "2025-06-10", "1")]},
    ],
}  # fmt: skip
