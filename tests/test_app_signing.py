"""The app with $DQM_PUBLIC_KEY shows only versions signed with that key's private half: an
unsigned store is refused in the sidebar, version by version, in the store's words."""

from __future__ import annotations

import re
import shutil

import pytest
from streamlit.testing.v1 import AppTest

from app_pages import memo
from compiler.ruleset.compile import compile_workbook
from compiler.ruleset.signing import new_key, private_key
from tests.fixtures.paths import EXPORTS, ROOT, WORKBOOK


@pytest.fixture
def keyed(tmp_path, monkeypatch):
    exports = tmp_path / "exports"
    shutil.copytree(EXPORTS, exports, ignore=shutil.ignore_patterns(".lock"))
    public = new_key(tmp_path / "owner.pem")
    monkeypatch.setenv("DQM_EXPORTS", str(exports))
    monkeypatch.setenv("DQM_PUBLIC_KEY", str(public))
    memo.clear_caches(keep_content=True)
    yield exports, tmp_path / "owner.pem"
    memo.clear_caches(keep_content=True)


def test_an_unsigned_store_is_refused_and_a_signed_one_is_shown(keyed):
    exports, private = keyed
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    v4 = exports / "oncology-dqm" / "v4.json"
    assert re.sub(r"\\(.)", r"\1", at.sidebar.error[0].value) == (
        f"{v4} is not signed (no v4.sig beside it), and this reader trusts only signed versions; "
        "publish it with dqm compile --sign KEY."
    )
    assert (
        at.sidebar.selectbox(key="version:oncology-dqm").options[-1] == "v4 · refused: not signed"
    )
    assert compile_workbook(WORKBOOK, exports, sign=private_key(private)).ok
    memo.clear_caches()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.sidebar.error and not at.exception
    assert at.sidebar.selectbox(key="version:oncology-dqm").value == 4
