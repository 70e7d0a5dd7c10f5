"""Who published a version: `dqm compile --sign KEY` publishes a detached Ed25519 signature beside
each version (v<N>.sig), and a reader given the public key refuses a version that is unsigned,
signed with another key, or changed after signing, even one re-sealed with the package's own
hashing (sha256 proves a file whole, not who wrote it). Unsigned stores read as before."""

from __future__ import annotations

import json
import os
import shutil
import stat

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

import compiler
from compiler.ruleset.integrity import content_sha256
from compiler.ruleset.sealing import canonical_bytes, seal
from tests.fixtures.paths import EXPORTS, WORKBOOK

RULESET = "oncology-dqm"
CLAIMS = "claim_id,product_id,channel,quantity\nA,imatinib-400mg-tab,retail,70\n"


@pytest.fixture
def signed(tmp_path, dqm):
    """A copy of the store, every version signed by a new key; (exports, private, public)."""
    exports = tmp_path / "exports"
    shutil.copytree(EXPORTS, exports, ignore=shutil.ignore_patterns(".lock"))
    private = tmp_path / "keys" / "owner.pem"
    private.parent.mkdir()
    assert dqm("keygen", private) == (
        0,
        f"{private}: the private key; keep it outside the repository, readable by you alone.\n"
        f"{private.parent / 'owner.pub.pem'}: the public key; give it to every reader "
        "(--public-key).\n",
        "",
    )
    ran = dqm("compile", WORKBOOK, "--exports", exports, "--sign", private)
    assert ran.code == 0 and ran.out.startswith("Nothing changed: v4 is current")
    return exports, private, private.parent / "owner.pub.pem"


def decide(dqm, tmp_path, exports, key):
    claims = tmp_path / "claims.csv"
    claims.write_text(CLAIMS)
    return dqm("decide", claims, "--ruleset", RULESET, "--exports", exports, "--public-key", key)


def test_keygen_makes_a_private_key_only_its_owner_reads_and_never_overwrites(signed, dqm):
    _, private, public = signed
    assert stat.S_IMODE(os.stat(private).st_mode) == 0o600
    assert public.read_text().startswith("-----BEGIN PUBLIC KEY-----")
    assert dqm("keygen", private) == (
        2,
        "",
        f"dqm: {private} already exists; dqm keygen never overwrites a key.\n",
    )


def test_every_version_is_signed_and_the_index_lists_each_signature(signed):
    exports, _, public = signed
    folder = exports / RULESET
    assert sorted(p.name for p in folder.glob("*.sig")) == [f"v{v}.sig" for v in (1, 2, 3, 4)]
    index = json.loads((folder / "index.json").read_text())
    assert [sorted(e["files"]) for e in index["versions"]] == [["jdm", "sig"]] * 4
    store = compiler.Store(exports, trust=compiler.public_key(public))
    decided = compiler.decide_claims(
        [{"product_id": "imatinib-400mg-tab", "channel": "retail", "quantity": "60"}],
        RULESET,
        exports=store,
    )
    assert list(decided["decision"]) == ["approve"]


def test_a_version_edited_and_resealed_is_refused_by_a_reader_with_the_key(signed, dqm, tmp_path):
    exports, _, public = signed
    path = exports / RULESET / "v4.json"
    doc = json.loads(path.read_text())
    doc["policies"][0]["products"][1]["retail_max_qty"] = 80  # 400 mg retail 60 -> 80
    doc["content_sha256"] = content_sha256(doc)  # its hashes made again: whole, but not theirs
    path.write_bytes(canonical_bytes(seal(doc)))
    claims = tmp_path / "claims.csv"
    claims.write_text(CLAIMS)
    # Without the key the edit passes, as sha256 alone cannot tell (index.json aside: not read).
    ran = dqm("decide", claims, "--ruleset", str(path))
    assert ran.code == 0 and ',"approve",70,,80,' in ran.out
    assert decide(dqm, tmp_path, exports, public) == (
        2,
        "",
        f"dqm: {path}'s signature does not verify with the trusted public key: it was changed "
        "after it was signed, or signed with another key. Use a version published by the "
        "ruleset's owner.\n",
    )


def test_an_unsigned_version_or_another_key_is_refused(signed, dqm, tmp_path):
    exports, _, public = signed
    other = tmp_path / "other.pem"
    assert dqm("keygen", other).code == 0
    v1 = exports / RULESET / "v1.json"
    assert decide(dqm, tmp_path, exports, tmp_path / "other.pub.pem").err == (
        f"dqm: {v1}'s signature does not verify with the trusted public key: it was changed after "
        "it was signed, or signed with another key. Use a version published by the ruleset's "
        "owner.\n"
    )
    assert decide(dqm, tmp_path, EXPORTS, public) == (
        2,
        "",
        f"dqm: {EXPORTS / RULESET / 'v1.json'} is not signed (no v1.sig beside it), and this "
        "reader trusts only signed versions; publish it with dqm compile --sign KEY.\n",
    )
    assert decide(dqm, tmp_path, exports, public).code == 0
    assert decide(dqm, tmp_path, exports, WORKBOOK) == (
        2,
        "",
        f"dqm: {WORKBOOK} is not a PEM key; make one with dqm keygen.\n",
    )


def test_signing_with_another_key_than_the_stores_is_refused(signed, dqm, tmp_path):
    exports, _, _ = signed
    other = tmp_path / "other.pem"
    assert dqm("keygen", other).code == 0
    before = sorted(p.name for p in (exports / RULESET).iterdir())
    assert dqm("compile", WORKBOOK, "--exports", exports, "--sign", other) == (
        2,
        "",
        f"dqm: v4 of {RULESET} is signed with another key, and a ruleset's versions are all "
        "signed with one (its readers trust one public key). Sign with that key; nothing was "
        "published.\n",
    )
    assert sorted(p.name for p in (exports / RULESET).iterdir()) == before


def test_impact_refuses_an_output_inside_the_claims_folder(dqm, tmp_path):
    folder = tmp_path / "claims"
    folder.mkdir()
    (tmp_path / "a.csv").write_text(CLAIMS)
    pq.write_table(pacsv.read_csv(tmp_path / "a.csv"), folder / "a.parquet")
    out = folder / "changed.csv"
    assert dqm("impact", RULESET, "3", "4", folder, "--output", out) == (
        2,
        "",
        f"dqm: --output {out} is inside the claims folder {folder}, so the next run would read "
        "these decisions as claims; write them outside it.\n",
    )
    assert sorted(p.name for p in folder.iterdir()) == ["a.parquet"]
