"""Two decision columns framed from what the engine computed (evaluation.py): the channel as
echoed, and the claim drugs that met the winning criterion."""

from __future__ import annotations

import numpy as np

from ..vocabulary import CHANNELS
from .encode import MISSING, UNKNOWN, Coded
from .evaluation import Evaluation
from .model import Criterion


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
