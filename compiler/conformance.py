"""Conformance vectors: inputs and the exact outputs dqm gives, for a consumer who reproduces
decisions from the version files and docs/consumers.md alone (examples/node-consumer runs them).

Every output here is computed by the library itself (names, codes, the claims grammar, the
engine through the same CSV reader and JSON-lines writer as `dqm decide`); only the inputs are
chosen by hand. `dqm conformance` writes them; `--check` says whether the files are current.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from . import codes, names
from .atomic import make_folder, replace_file
from .conformance_hashes import hashes, relative
from .conformance_words import drug_word_table
from .decide.claims import (
    ROW_PROBLEM,
    ClaimsFileError,
    read_claims_csv,
    read_claims_csv_table,
)
from .decide.encode import MISSING, UNKNOWN, channel_code, claim_ids
from .decide.grammar import quantity_number, quantity_problem, service_date
from .decide.run import HistoryError
from .decide.versions import Versions
from .decide.writer import write_decisions
from .errors import ConformanceError
from .ruleset.store import Store
from .vocabulary import CHANNELS, CLAIM_COLUMNS, DECISION_COLUMNS, json_number

if TYPE_CHECKING:
    import pandas as pd

# Every field a consumer compares; the message is there to read, its wording is dqm's own.
COMPARED = [c for c in DECISION_COLUMNS if c != "message"]


# -- normalisation ------------------------------------------------------------------------------

DRUG_TEXTS = [
    "rifampin", "RIFAMPICIN", "Rifadin 300 mg capsule", "rifaximin", "rifampinx",
    "Phenytoin Sodium 100 mg capsule", "St. John's Wort", "St John’s wort", "St Johnʼs wort",
    "John‘s", "rifampin–isoniazid", "rifampin—isoniazid", "rifampin/isoniazid",
    "Tegretol®XR", "carbamazepine→phenytoin", "Dilantin™", "DEXAMÉTHASONE 4 mg",
    "Phe\u0301nobarbital", "rif\u00adampin", "rif\u200bampin", "ｒｉｆａｍｐｉｎ", "Straße",
    "ΡΙΦΑΜΠΙΚΙΝΗ 300", "Ριφαμπικίνη", "ΟΔΟΣ", "Рифампицин", "利福平·胶囊", "vitamin B₁₂",
    "½ tablet", "ﬁlm-coated", "  spaced   out  ", "®™", "", "tab\tnewline\nend",
]  # fmt: skip
NDC_TEXTS = [
    "47335-475-83", "47335-0475-83", "47335047583", " 47335047583 ", "4733547583",
    "1234-5678-90", "12345-678-90", "12345-6789-1", "12345-6789-02", "1234-56789-0",
    "47335-475-8", "47335 475 83", "4733504758x", "٤٧٣٣٥٠٤٧٥٨٣", "473350475830", "-47335-475-83",
]  # fmt: skip
RXCUI_TEXTS = ["403879", "0403879", " 403879 ", "0", "000", "12a", "40 3879", "４０３８７９", "-1"]
QUANTITY_TEXTS = [
    "60", " 60 ", "\t60\t", "60.0", "2.5", "0.5", "1000000", "1000000.0", "1000000.5", "0",
    "0.0", "-5", "+5", "1e3", "1,000", "1_000", ".5", "5.", "６０", "٦٠", "abc", "", "   ",
    "60 tablets", "0x10", "NaN", "inf",
    # Whole from 2**53 up: the double's exact value, an integer (never 1e+20); from about 1.8e308
    # a double overflows (infinite: over the range, and null in JSON, which has no infinity).
    "9007199254740993", "100000000000000000000", "1" + "0" * 25, "12345678901234567.5",
    "0.0000001", "9" * 400,
]  # fmt: skip
DATE_TEXTS = [
    "2024-06-01", "20240601", " 2024-06-01 ", "2024-02-29", "2023-02-29", "2024-13-01",
    "2024-06-31", "2024/06/01", "06/01/2024", "2024-6-1", "240601", "2024-06-01T00:00",
    "２０２４-06-01", "0000-01-01", "",
]  # fmt: skip
CHANNEL_TEXTS = [
    "retail", "RETAIL", " Retail ", "home_delivery", "Home Delivery", "home-delivery",
    "HOME__DELIVERY", "home - delivery", "_home_delivery_", "homedelivery", "mail",
    "home delivery\u00a0", "", "  ", "-_-",
]  # fmt: skip
# An empty key (only whitespace) is a product_id not given.
PRODUCT_ID_TEXTS = [
    "imatinib-400mg-tab",
    " IMATINIB-400MG-TAB ",
    "Imatinib-400MG-Tab\u3000",
    "  ",
    "\t\u3000",
]
# Claims CSV files as bytes arrive (UTF-8 text here): which lines are claims (a blank one is
# skipped and takes no position), how headers match, and which files are refused (claims null).
CLAIMS_CSV = [
    ("a plain file", "claim_id,product_id,channel,quantity\nA,x,retail,60\nB,y,home_delivery,2.5\n"),
    ("blank lines are skipped and take no position",
     "product_id,channel,quantity\n\nx,retail,1\n   \nx,retail,2\n\"\"\nx,retail,3\n\" \"\n"
     "\t\nx,retail,4\n\n"),
    ("a line of commas is a claim", "product_id,channel,quantity\nx,retail,1\n,\n,,\n\"\",\"\"\nx,retail,2"),
    ("a cell of spaces is text, an empty cell missing",
     "claim_id,product_id,channel,quantity,date_of_service\n  ,x, ,  ,\n\"\",x,retail,1,\"\"\n"),
    ("byte-order mark, CRLF, no final line break",
     "\ufeffProduct ID,Channel,QUANTITY\r\nx,retail,1\r\n\r\ny,retail,2"),
    ("header names folded; other columns ignored",
     " Claim ID ,PRODUCT__ID,home,Channel,Quantity,Date-of-Service,Concomitant Drugs,"
     "attested criteria,Notes,notes\n"
     "c1,x,h,Retail,1,2024-06-01,rifampin; aspirin,a;b,n1,n2\n"),
    ("quoted cells hold commas, quotes and line breaks",
     'product_id,channel,quantity,concomitant_drugs\nx,retail,1,"a, b; ""c""\nd"\n'),
    ("a quote opens a quoted section only as a field's first character",
     'product_id,channel,quantity,concomitant_drugs\nx,retail,1,5" tablets\nx,retail,2,"ab"cd\n'
     'x,retail,3, "ab"\nx,retail,4,"ab"c"d"\nx,retail,5,a""b\nx,retail,6,""x\n'),
    ("fewer fields: the rest missing; more: invalid, the first read",
     "claim_id,product_id,channel,quantity\nA,x\nB,x,retail,1,extra\nx\n"),
    ("a code instead of product_id", "ndc,channel,quantity\n47335-475-83,retail,1\n"),
    ("only a header: no claims", "product_id,channel,quantity\n"),
    ("only a header and blank lines: no claims", "product_id,channel,quantity\n\n  \n"),
    ("refused: two columns fold to product_id", "product_id,Product ID,channel,quantity\nx,x,retail,1\n"),
    ("refused: two columns fold to channel", "product_id,channel,quantity,CHANNEL\nx,retail,1,retail\n"),
    ("refused: no channel column", "product_id,quantity\nx,1\n"),
    ("refused: no quantity column", "product_id,channel\nx,retail\n"),
    ("refused: no product_id, ndc or rxcui column", "claim_id,channel,quantity\nA,retail,1\n"),
    ("refused: columns separated by semicolons", "product_id;channel;quantity\nx;retail;1\n"),
    ("refused: a blank first line (the header is the first line)",
     "\nproduct_id,channel,quantity\nx,retail,1\n"),
    ("refused: begins with PK (a spreadsheet)", "PKG,product_id,channel,quantity\n1,x,retail,1\n"),
    ("refused: empty", ""),
    ("refused: only blank lines", "\n \n"),
]  # fmt: skip


def normalisation() -> dict[str, Any]:
    """Each grammar's cases: text in, what dqm reads out (null: not readable)."""
    return {
        "drug_words": [{"text": t, "words": names.normalize(t)} for t in DRUG_TEXTS],
        "ndc": [{"text": t, "ndc": codes.read_ndc(t).value} for t in NDC_TEXTS],
        "rxcui": [{"text": t, "rxcui": codes.read_rxcui(t).value} for t in RXCUI_TEXTS],
        "quantity": [
            {
                "text": t,
                "quantity": json_number(quantity_number(t)),
                "valid": quantity_problem(t) is None,
            }
            for t in QUANTITY_TEXTS
        ],
        "date_of_service": [
            {"text": t, "date": d.isoformat() if (d := service_date(t)) else None}
            for t in DATE_TEXTS
        ],
        "channel": [{"text": t, "channel": _channel(t)} for t in CHANNEL_TEXTS],
        "product_id": [{"text": t, "key": t.strip().casefold()} for t in PRODUCT_ID_TEXTS],
        "claims_csv": [{"name": n, "csv": t, "claims": claims_read(t)} for n, t in CLAIMS_CSV],
    }


def claims_read(text: str) -> list[dict[str, Any]] | None:
    """The claims a claims CSV holds, as `dqm decide` reads them: each claim's fields as text (a
    field not given is absent), its claim_id defaulted to its position, and `more_fields: true`
    on a row with more fields than the header (the claim is invalid); None: the file is refused."""
    try:
        frame = read_claims_csv(text.encode())
    except ClaimsFileError:
        return None
    ids = list(claim_ids(frame["claim_id"], len(frame)))
    problems = frame[ROW_PROBLEM] if ROW_PROBLEM in frame.columns else None
    claims = []
    for i, row in enumerate(frame[CLAIM_COLUMNS].astype(object).itertuples(index=False)):
        claim = {c: v for c, v in zip(CLAIM_COLUMNS, row, strict=True) if isinstance(v, str)}
        claim["claim_id"] = ids[i]
        if problems is not None and isinstance(problems.iloc[i], str):
            claim["more_fields"] = True
        claims.append({c: claim[c] for c in [*CLAIM_COLUMNS, "more_fields"] if c in claim})
    return claims


def _channel(text: str) -> str | None:
    code = channel_code(text)
    return None if code == MISSING else "unknown" if code == UNKNOWN else CHANNELS[code]


# -- decisions ----------------------------------------------------------------------------------


def decisions(
    store: Store, ruleset_id: str, cases: list[dict[str, Any]], out: Path
) -> dict[str, Any]:
    """Each case's claims decided by the real engine: by date of service (`version` null) or by
    one version, as `dqm decide --version N` decides them."""
    versions = {v: store.load(ruleset_id, v) for v in store.versions(ruleset_id)}
    by_date = Versions.of(versions)
    decided_cases = []
    for case in cases:
        # As the Arrow table dqm decide decides (a frame would cost more than these few claims)
        claims = read_claims_csv_table(_csv(case["claims"]))
        version = case.get("version")
        if version is not None and version not in versions:
            continue
        history = _history(case["history"]) if "history" in case else None
        try:
            decided = (
                by_date.decide(claims, history=history)
                if version is None
                else by_date.engine(version).decide(claims, history=history)
            )
        except HistoryError:  # a fill that cannot be counted stops the run: no decisions
            decided_cases.append({**case, "version": version, "decisions": None})
            continue
        sink = io.BytesIO()
        write_decisions(decided, sink, "jsonl")  # what `dqm decide --format jsonl` writes
        # The standard library's reader: an integer of any size stays one (60, 10**20).
        rows = [json.loads(line) for line in sink.getvalue().splitlines()]
        decided_cases.append({**case, "version": version, "decisions": rows})
    return {
        "ruleset_id": ruleset_id,
        "versions": [
            {
                "version": v,
                "file": relative(store.path(ruleset_id, v), out),
                "sha256": d["sha256"],
            }
            for v, d in versions.items()
        ],
        "compare": COMPARED,
        "cases": decided_cases,
    }


def _history(fills: list[dict[str, str]]) -> pd.DataFrame:
    """A case's history: its fills as text (a field not given is missing)."""
    import pandas as pd

    columns = [*CLAIM_COLUMNS, "status"]
    return pd.DataFrame([[f.get(c) for c in columns] for f in fills], columns=columns, dtype="str")


def _csv(claims: list[dict[str, str]]) -> bytes:
    """Claims as a claims CSV (every contract column; a field not given is an empty cell)."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(CLAIM_COLUMNS)
    for claim in claims:
        writer.writerow([claim.get(c, "") for c in CLAIM_COLUMNS])
    return text.getvalue().encode()


# -- files --------------------------------------------------------------------------------------


def vectors(exports: list[str | Path], out: str | Path) -> dict[str, bytes]:
    """File name -> bytes of every vector file to go into `out`, for the rulesets published in
    `exports`."""
    out = Path(out)
    from .conformance_cases import cases_for

    stores = [Store(e) for e in exports]
    for store in stores:
        store.require_folder()
    files = {
        "normalisation.json": _dump(normalisation()),
        "drug-words.json": _dump(drug_word_table(DRUG_TEXTS)),
        "hashes.json": _dump(hashes(stores, out)),
    }
    for store in stores:
        for ruleset_id in store.ruleset_ids():
            name = f"decisions-{ruleset_id}.json"
            if name in files:
                raise ConformanceError(f"Ruleset {ruleset_id} is published in two of {exports}.")
            files[name] = _dump(decisions(store, ruleset_id, cases_for(store, ruleset_id), out))
    return files


def _dump(data: Any) -> bytes:
    return orjson.dumps(_big_ints(data), option=orjson.OPT_INDENT_2) + b"\n"


def _big_ints(data: Any) -> Any:
    """Integers beyond 64 bits (a claim's quantity 10**20) as their digits: orjson writes no
    larger ones."""
    if isinstance(data, dict):
        return {k: _big_ints(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_big_ints(v) for v in data]
    if isinstance(data, int) and not -(2**63) <= data < 2**64:
        return orjson.Fragment(str(data).encode())
    return data


def write(exports: list[str | Path], out: str | Path) -> list[Path]:
    """Write the vector files into `out`; a vector file of a ruleset no longer published goes."""
    files = vectors(exports, out)
    folder = make_folder(Path(out))
    for stale in folder.glob("*.json"):
        if stale.name not in files:
            stale.unlink()
    return [replace_file(folder / name, data) for name, data in files.items()]


def check(exports: list[str | Path], out: str | Path) -> str | None:
    """The first difference between the vector files in `out` and fresh ones (None: current)."""
    files = vectors(exports, out)
    folder = Path(out)
    on_disk = sorted(p.name for p in folder.glob("*.json")) if folder.is_dir() else []
    for name in sorted(set(on_disk) - set(files)):
        return f"{folder / name} is not a vector file any more (its ruleset is not published)"
    for name, data in files.items():
        path = folder / name
        if not path.is_file():
            return f"{path} is missing"
        old = path.read_bytes()
        if old != data:
            where = _first_difference(json.loads(old), json.loads(data), "")
            return f"{path} is stale: {where or 'its formatting differs'}"
    return None


def _first_difference(old: Any, new: Any, at: str) -> str | None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in [*old, *(k for k in new if k not in old)]:
            if key not in new or key not in old:
                return f"{at}.{key} is {'gone' if key not in new else 'new'}"
            if (found := _first_difference(old[key], new[key], f"{at}.{key}")) is not None:
                return found
        return None
    if isinstance(old, list) and isinstance(new, list):
        for i, (a, b) in enumerate(zip(old, new, strict=False)):
            if (found := _first_difference(a, b, f"{at}[{i}]")) is not None:
                return found
        if len(old) != len(new):
            return f"{at or 'the file'} has {len(old)} items, {len(new)} now"
        return None
    if old != new or type(old) is not type(new):
        return (
            f"{at or 'the file'} is {orjson.dumps(old).decode()}, {orjson.dumps(new).decode()} now"
        )
    return None
