"""Decision columns framed from what the engine computed (evaluation.py): the channel as echoed,
the claim drugs that met the winning criterion, and the few a run's windows read."""

from __future__ import annotations

import numpy as np

from ..vocabulary import CHANNELS, DECISIONS
from .encode import MISSING, UNKNOWN, Coded
from .evaluation import CAP, Evaluation
from .model import Criterion
from .window import MICRO


def channel_column(ev: Evaluation) -> Coded:
    """`retail`/`home_delivery`; an unrecognised channel is echoed as given."""
    codes = ev.channel.copy()
    odd = codes == UNKNOWN
    categories = list(CHANNELS)
    if odd.any():
        given, inverse = np.unique(ev.channel_text.codes[odd], return_inverse=True)
        codes[odd] = inverse + len(categories)
        categories += [str(ev.channel_text.categories[g]) for g in given]
    codes[codes == MISSING] = -1
    return Coded(codes, categories)


def matched_column(
    ev: Evaluation,
    criteria: dict[str, Criterion],
    criterion_ids: list[str],
    criterion: np.ndarray,
) -> Coded:
    """The claim's drugs that met the winning criterion (`criterion`: per claim, its index into
    `criterion_ids`, or -1), joined by "; "."""
    codes = np.full(ev.n, -1, dtype=np.int64)
    categories: list[str] = []
    for i, criterion_id in enumerate(criterion_ids):  # few criteria, however many products
        c = criteria[criterion_id]
        if c.met_when != "concomitant_drug_on_list":
            continue
        rows = criterion == i
        if not rows.any():
            continue
        text_codes, joined = ev.drug_texts.joined(c.drug_list_id)
        text_codes = np.where(text_codes >= 0, text_codes + len(categories), -1)
        categories += joined
        codes[rows] = text_codes[ev.drugs[rows]]
    return Coded(codes, categories)


def terms_columns(ev: Evaluation, product_id: Coded, message: Coded, cap: np.ndarray) -> dict:
    """The columns a run's windows read (run.terms, run.fills), and the message of an invalid
    claim (a history row that is not a fill is refused in its words)."""
    window = ev.accumulated >= 0
    return {
        "claim_id": ev.claim_id,
        "product_id": product_id,
        "quantity": ev.quantity,
        "date_of_service": ev.date_text,
        "decision": Coded(ev.decision, DECISIONS),
        "approved_quantity": ev.approved,
        "member_id": ev.member,
        "limit": ev.limit,
        "accumulated_quantity": np.where(window, ev.accumulated / MICRO, np.nan),
        "period_days": np.where(window, ev.period, np.nan),
        "message": message,
        CAP: cap,
    }
