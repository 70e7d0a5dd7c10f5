"""Conformance vectors: the hashes of a version, worked through on a tiny ruleset and given for
every published version (conformance/hashes.json; docs/consumers.md §2)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from .errors import ConformanceError
from .ruleset.build import content_sha256
from .ruleset.sealing import canonical_bytes, seal
from .ruleset.store import Store

TINY = {
    "schema_version": 2,
    "ruleset_id": "tiny",
    "version": 1,
    "title": "Tiny – ruleset é",
    "owner": None,
    "effective_date": "2024-01-01",
    "source": {"file_name": "tiny.xlsx", "sha256": "0" * 64},
    "policies": [
        {
            "policy_id": "p",
            "review_date": "2023-06-01",
            "history": [{"review_date": "2023-06-01", "summary_of_changes": "New."}],
            "products": [{"product_id": "x", "codes": [], "retail_max_qty": 2.5}],
        }
    ],
    "criteria": [],
    "drug_lists": [],
    "tests": [],
}


def hashes(stores: list[Store], out: Path) -> dict[str, Any]:
    """The two hashes of a tiny document (with the exact bytes each is taken of) and of every
    published version file."""
    tiny_latest = {**TINY, "effective_date": "2023-06-01"}  # its latest Review Date: left out
    documents = []
    for name, doc in (("tiny", TINY), ("tiny-effective-on-latest-review", tiny_latest)):
        body = dict(doc)
        body["content_sha256"] = content_sha256(body)
        sealed = seal(body)
        content = _content_form(body)
        if hashlib.sha256(content.encode()).hexdigest() != body["content_sha256"]:
            raise ConformanceError(f"The content form of {name} is not what content_sha256 hashes.")
        documents.append(
            {
                "name": name,
                "document": sealed,
                "canonical": canonical_bytes(body).decode(),  # without sha256: what it hashes
                "stored": canonical_bytes(sealed).decode(),  # the file: with sha256
                "content": content,  # what content_sha256 hashes
                "sha256": sealed["sha256"],
                "content_sha256": body["content_sha256"],
            }
        )
    files = []
    for store in stores:
        for ruleset_id in store.ruleset_ids():
            for v in store.versions(ruleset_id):
                doc = store.load(ruleset_id, v)
                files.append(
                    {
                        "file": relative(store.path(ruleset_id, v), out),
                        "sha256": doc["sha256"],
                        "content_sha256": doc["content_sha256"],
                    }
                )
    return {"documents": documents, "files": files}


def _content_form(doc: dict[str, Any]) -> str:
    """The compact canonical JSON content_sha256 is the hash of (docs/consumers.md §2), for the
    worked examples (checked against content_sha256 itself)."""
    rules = {
        k: doc[k] for k in ("ruleset_id", "title", "owner", "policies", "criteria", "drug_lists")
    }
    rules["policies"] = [
        {
            **pol,
            "products": [
                {k: v for k, v in p.items() if k != "codes" or v} for p in pol["products"]
            ],
        }
        for pol in doc["policies"]
    ]
    reviews = [h["review_date"] for pol in doc["policies"] for h in pol["history"]]
    if "effective_date" in doc and doc["effective_date"] != max(reviews, default=None):
        rules["effective_date"] = doc["effective_date"]
    return json.dumps(rules, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def relative(path: Path, out: Path) -> str:
    """A version file's path as the vectors in `out` name it: relative to that folder."""
    return Path(os.path.relpath(path.resolve(), out.resolve())).as_posix()
