"""Conformance cases for codes across versions (docs/consumers.md §5, product): a claim routed to
a version by its date reads a code that version does not list through the nearest later version
that lists it, provided the version has that product; one version alone reads only its own codes.
In oncology-dqm v1-v3 list no codes and v4 lists them; in conformance-demo, v4 adds a product
(sumatriptan) and its NDC that the versions before it do not have."""

from __future__ import annotations

from typing import Any

CODES_ACROSS_VERSIONS: dict[str, list[dict[str, Any]]] = {
    "oncology-dqm": [
        {"name": "codes across versions: read through the later version that lists them, decided "
                 "by the version in effect", "version": None, "claims": [
            {"claim_id": "v1-at", "ndc": "47335-475-83", "channel": "retail", "quantity": "60",
             "date_of_service": "2024-06-01"},
            {"claim_id": "v1-over", "ndc": "47335047583", "channel": "retail", "quantity": "61",
             "date_of_service": "2024-06-01"},
            {"claim_id": "v2-override", "rxcui": "403879", "channel": "retail", "quantity": "75",
             "concomitant_drugs": "rifampin", "date_of_service": "2025-01-01"},
            {"claim_id": "v2-no-overrides", "rxcui": "0403878", "channel": "home_delivery",
             "quantity": "541", "date_of_service": "20241217"},
            {"claim_id": "agree", "product_id": "imatinib-400mg-tab", "ndc": "47335-0475-83",
             "rxcui": "404589", "channel": "retail", "quantity": "60",
             "date_of_service": "2024-06-01"},
            {"claim_id": "disagree", "product_id": "imatinib-100mg-tab", "ndc": "47335-475-83",
             "channel": "retail", "quantity": "60", "date_of_service": "2024-06-01"},
            {"claim_id": "no-version-lists-it", "ndc": "00003-0527-11", "channel": "retail",
             "quantity": "60", "date_of_service": "2024-06-01"},
            {"claim_id": "before-every-version", "ndc": "47335-475-83", "channel": "retail",
             "quantity": "60", "date_of_service": "2020-01-01"},
            {"claim_id": "v4-its-own", "ndc": "47335-475-83", "channel": "retail", "quantity": "61",
             "date_of_service": "2026-03-02"}]},
        {"name": "codes across versions: one version alone reads only its own codes", "version": 1,
         "claims": [
            {"ndc": "47335-475-83", "channel": "retail", "quantity": "60",
             "date_of_service": "2024-06-01"},
            {"rxcui": "403878", "channel": "retail", "quantity": "60"}]},
    ],
    "conformance-demo": [
        {"name": "codes across versions: a later version's code for a product the version in effect "
                 "does not have", "version": None, "claims": [
            {"ndc": "55111-0291-09", "channel": "retail", "quantity": "5", "date_of_service": d}
            for d in ["2024-06-01", "2024-12-31", "2025-01-01"]] + [
            {"ndc": "01234567890", "channel": "retail", "quantity": "35",
             "date_of_service": "2024-01-01"}]},
    ],
}  # fmt: skip
