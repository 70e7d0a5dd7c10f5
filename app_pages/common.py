"""What the pages share on screen: the ruleset and version the reviewer chose in the sidebar, how a
page decides (by date of service or by that choice), and the Batch editor's tables."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from app_pages import handoff
from app_pages.drafts import held_draft
from app_pages.memo import memo
from app_pages.published import engine_for, history_summary, listing, load_version, store
from app_pages.text import md, plain
from compiler.decide.claims import claims_frame
from compiler.decide.engine import Engine
from compiler.ruleset import walk
from compiler.vocabulary import CLAIM_COLUMNS, format_number

MB = 1_000_000


DRAFT = "draft"  # the Version box's option for the session's draft, after the published versions


@dataclass
class Choice:
    """The ruleset and version the reviewer is looking at: a published version, or the draft
    the session checked on the Draft page (`draft_name` its file's name, `version` None)."""

    ruleset_id: str
    version: int | None
    doc: dict[str, Any]
    draft_name: str | None = None

    @property
    def is_draft(self) -> bool:
        return self.draft_name is not None

    @property
    def engine(self) -> Engine:
        return engine_for(self.doc)

    @property
    def label(self) -> str:
        if self.is_draft:
            return f"{self.ruleset_id} draft {self.draft_name}"
        return f"{self.ruleset_id} v{self.version}"

    @property
    def tests_key(self) -> tuple:
        """What the Batch page's starting table of this version's Tests is made once per."""
        return ("tests", self.doc.get("sha256") or self.doc["content_sha256"])


def choose_version(sidebar: Any = st.sidebar) -> Choice | None:
    """The ruleset and version chooser (latest by default; the session's draft that compiles
    after the published versions); shows why a version is refused."""
    s = store()
    ids = s.ruleset_ids()
    draft = held_draft()
    if draft is not None and draft.ruleset_id not in ids:
        ids = [*ids, draft.ruleset_id]  # a draft of a new ruleset
    handoff.choose_pending_version(sidebar)
    sidebar.header("Ruleset")
    if not ids:
        sidebar.warning(f"No published rulesets in {md(s.root)}/. Publish one with `dqm compile`.")
        return None
    ruleset_id = sidebar.selectbox("Ruleset", ids, key="ruleset_id", format_func=plain)
    listed, problem = listing(ruleset_id) if ruleset_id in s.ruleset_ids() else ({}, None)
    versions: list[int | str] = list(listed)
    if draft is not None and draft.ruleset_id == ruleset_id:
        versions.append(DRAFT)
    key = f"version:{ruleset_id}"
    if st.session_state.get(key) not in (None, *versions):
        del st.session_state[key]  # the draft it named is gone
    if key not in st.session_state:  # the latest published version; a default once only
        st.session_state[key] = versions[len(listed) - 1 if listed else 0]
    version = sidebar.selectbox(
        "Version",
        versions,
        key=key,
        format_func=lambda v: plain(f"draft {draft.file_name}") if v == DRAFT else listed[v].label,
    )
    if version == DRAFT:
        sidebar.caption(
            f"Not published: the draft {md(draft.file_name)}, checked on the Draft page."
        )
        return Choice(ruleset_id, None, draft.ruleset, draft.file_name)
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
    default, as `dqm decide` does) or by the version chosen in the sidebar (always, a draft)."""
    if choice.is_draft:  # published versions decide by date; a draft only when chosen
        st.caption(f"Decided by {md(choice.label)}, chosen in the sidebar (not published).")
        return BY_CHOICE
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
    """`imatinib-400mg-tab`, and `— policy retired 2026-12-01` after a product whose policy is
    retired (`— product retired …` for one retired itself), as plain text: short enough for its box to show whole (`product_detail` beside)."""
    product = engine.product(product_id)
    whose = "product" if product.retired_itself else "policy"
    retired = f" — {whose} retired {product.retired_on}" if product.retired_on else ""
    return plain(f"{product_id}{retired}")


def product_detail(engine: Engine, product_id: str) -> str:
    """`Gleevec® (imatinib tablets, generic), 400 mg tablets`, for Markdown."""
    return md(engine.product(product_id).label)


def show_table(frame: pd.DataFrame, **kwargs: Any) -> Any:
    """A read-only table: a blank cell shows empty (never "None"), a number with its thousands
    separated (5,318, as every count on the pages)."""
    numbers = {
        c: st.column_config.NumberColumn(format="localized")
        for c in frame.columns
        if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
    }
    return st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        placeholder="",
        column_config={**numbers, **kwargs.pop("column_config", {})},
        **kwargs,
    )


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
    if not isinstance(claims_or_version, dict):
        table = editable(claims_or_version)
        return table, table_claims(table)
    table = editable(walk.tests_as_claims(claims_or_version))
    tests = claims_or_version.get("tests", [])
    for column in EXPECTED:  # what staff expect of each row, as the Tests sheet says it
        table[column] = pd.Series(
            ["" if t.get(column) is None else _expected_text(t[column]) for t in tests],
            index=table.index,
            dtype=object,
        )
    return table, table_claims(table)


EXPECTED = ["expected_decision", "expected_approved_qty"]


def _expected_text(value: Any) -> str:
    return value if isinstance(value, str) else format_number(value, thousands=False)


def table_claims(table: pd.DataFrame) -> pd.DataFrame:
    """The claims an editor's table holds (blank cells as missing)."""
    return claims_frame(table.astype(object).where(table.notna(), "").to_dict("records"))


def changes_table(items: list[dict[str, Any]]) -> pd.DataFrame:
    """The compiler's change records (compiler.ruleset.diff.changes) as a table: its wording first."""
    return pd.DataFrame(
        [{"change": c["text"], "kind": c["kind"], "action": c["action"]} for c in items],
        columns=["change", "kind", "action"],
    )
