"""What the pages share on screen: the ruleset and version the reviewer chose in the sidebar, how a
page decides (by date of service or by that choice), and the Batch editor's tables."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from app_pages.memo import memo
from app_pages.published import engine_for, history_summary, listing, load_version, store
from app_pages.text import md, plain
from compiler.decide.claims import claims_frame
from compiler.decide.engine import Engine
from compiler.ruleset import walk
from compiler.vocabulary import CLAIM_COLUMNS

MB = 1_000_000


@dataclass
class Choice:
    """The ruleset and version the reviewer is looking at."""

    ruleset_id: str
    version: int
    doc: dict[str, Any]

    @property
    def engine(self) -> Engine:
        return engine_for(self.doc)

    @property
    def label(self) -> str:
        return f"{self.ruleset_id} v{self.version}"


def choose_version(sidebar: Any = st.sidebar) -> Choice | None:
    """The ruleset and version chooser (latest by default); shows why a version is refused."""
    s = store()
    ids = s.ruleset_ids()
    sidebar.header("Ruleset")
    if not ids:
        sidebar.warning(f"No published rulesets in {md(s.root)}/. Publish one with `dqm compile`.")
        return None
    ruleset_id = sidebar.selectbox("Ruleset", ids, key="ruleset_id", format_func=plain)
    listed, problem = listing(ruleset_id)
    versions = list(listed)
    version = sidebar.selectbox(
        "Version",
        versions,
        index=len(versions) - 1,
        key=f"version:{ruleset_id}",
        format_func=lambda v: listed[v].label,
    )
    if problem is not None and all(item.entry is not None for item in listed.values()):
        sidebar.warning(md(problem))
    chosen = listed[version]
    if chosen.entry is None:
        sidebar.error(md(chosen.refused))
        return None
    doc = load_version(ruleset_id, version)
    sidebar.caption(  # one element, a line each: every element is a message to the browser
        "  \n".join(
            [f"In effect from {md(chosen.entry['effective_date'] or 'the start')}"]
            + [f"{md(pid)}: {md(words)}" for pid, words in walk.review_words(doc).items()]
            + [f"History: {md(text)}" for text in history_summary(chosen.entry)]
        )
    )
    return Choice(ruleset_id, version, doc)


BY_DATE, BY_CHOICE = "date", "sidebar"


def decide_by(choice: Choice, key: str) -> str:
    """Whether a page decides by the version in effect on each claim's date of service (the
    default, as `dqm decide` does) or by the version chosen in the sidebar."""
    return st.radio(
        "Decide by",
        [BY_DATE, BY_CHOICE],
        key=key,
        horizontal=True,
        format_func=lambda mode: (
            "the version in effect on the date of service"
            if mode == BY_DATE
            else plain(f"{choice.label}, chosen in the sidebar")
        ),
    )


def require_version() -> Choice:
    """The chosen version, or stop the page with what is wrong."""
    choice = st.session_state.get("choice")
    if choice is None:
        st.error("No usable published version is chosen; see the sidebar.")
        st.stop()
    return choice


def product_label(engine: Engine, product_id: str) -> str:
    """`Gleevec® (imatinib tablets, generic), 400 mg tablets (imatinib-400mg-tab)`, and
    `— policy retired 2026-12-01` after a product whose policy is retired, as plain text."""
    product = engine.product(product_id)
    retired = f" — policy retired {product.retired_on}" if product.retired_on else ""
    return plain(f"{product.label} ({product_id}){retired}")


def editable(claims: pd.DataFrame) -> pd.DataFrame:
    """A claims frame as the batch editor shows it: contract columns, blanks as empty text."""
    out = claims.reindex(columns=CLAIM_COLUMNS).astype(object)
    return out.where(out.notna(), "").reset_index(drop=True)


@memo(max_entries=64)
def starting_table(
    source: tuple, claims_or_version: pd.DataFrame | dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The Batch editor's starting table and the claims it holds unedited, made once per
    version's Tests (source ("tests", sha256), given the version) or uploaded file (("file",
    file id), given its claims), not on every rerun."""
    claims = (
        walk.tests_as_claims(claims_or_version)
        if isinstance(claims_or_version, dict)
        else claims_or_version
    )
    table = editable(claims)
    return table, table_claims(table)


def table_claims(table: pd.DataFrame) -> pd.DataFrame:
    """The claims an editor's table holds (blank cells as missing)."""
    return claims_frame(table.astype(object).where(table.notna(), "").to_dict("records"))


def changes_table(items: list[dict[str, Any]]) -> pd.DataFrame:
    """The compiler's change records (compiler.ruleset.diff.changes) as a table: its wording first."""
    return pd.DataFrame(
        [{"change": c["text"], "kind": c["kind"], "action": c["action"]} for c in items],
        columns=["change", "kind", "action"],
    )
