"""The messages of Per Days claims: the limit over the window, what the member received in it
(from its first day to the date of service) and how much more may be dispensed now.

Nearly every such message is its own (what was received, and when, differ claim by claim), so
they are not written one by one: each part is written once per distinct value (the limit's words
per product, channel and outcome; each quantity; each date) and Arrow joins the parts per claim.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa

from ..vocabulary import CHANNEL_LABELS, CHANNELS, REJECT_CODE, format_number
from . import arrays
from .encode import Coded, Texts
from .evaluation import APPROVE, DENY, Evaluation
from .model import Criterion, Override, Product
from .window import MICRO


def window_messages(
    ev: Evaluation,
    rows: np.ndarray,
    products: list[Product],
    overrides: list[tuple[int, Override]],
    criteria: dict[str, Criterion],
) -> Coded:
    """The messages of the claims `rows` (decided over a window), as codes into their texts."""
    decided = ev.decision[rows]
    product, channel = ev.product[rows], ev.channel[rows]
    winner = np.where(decided == APPROVE, -1, ev.winner[rows])
    capped = (ev.quantity[rows] > ev.approved[rows]) & (decided != APPROVE) & (decided != DENY)
    outcome = (((product * 2 + channel) * 3 + np.minimum(decided, 2)) * (len(overrides) + 1)) + (
        winner + 1
    )
    outcome = outcome * 2 + capped
    kinds, kind = np.unique(outcome, return_inverse=True)
    kind = kind.reshape(-1)
    first = np.zeros(len(kinds), dtype=np.int64)
    first[kind] = np.arange(len(rows))  # any claim of each kind, to word it from
    a = ev.accumulated[rows]
    limit = np.rint(ev.limit[rows] * MICRO).astype(np.int64)
    caps = np.array(
        [[round(o.max_qty[c] * MICRO) for c in range(len(CHANNELS))] for _, o in overrides]
        or [[0] * len(CHANNELS)],
        dtype=np.int64,
    )
    cap = caps[np.maximum(winner, 0), channel]
    # The number each message ends on: what more the window holds, or what is approvable now.
    room = np.where(winner >= 0, cap - a, limit - a)
    room = np.where(capped, np.rint(ev.approved[rows] * MICRO).astype(np.int64), room)
    words = [_words(products, overrides, criteria, ev, int(rows[i])) for i in first]
    lead = _texts([w[0] for w in words], kind)
    unit = _texts([w[1] for w in words], kind)
    tail = _tails(words, kind, room)
    end = ev.days[rows]
    start = end - ev.period[rows] + 1
    import pyarrow.compute as pc

    joined = pc.binary_join_element_wise(
        lead,
        _numbers(a),
        unit,
        _dates(start, " to "),
        _dates(end, ", so "),
        tail,
        arrays.text_scalar(""),
    )
    # Nearly a text each: each claim's own (encoding them would hash them all to save little).
    return Coded(np.arange(len(rows), dtype=np.int64), Texts(joined))


def _words(
    products: list[Product],
    overrides: list[tuple[int, Override]],
    criteria: dict[str, Criterion],
    ev: Evaluation,
    i: int,
) -> tuple[str, str, str, str, bool]:
    """One kind of message's parts: before the quantity received; between it and the window's
    dates; the tail's words before and after its number; whether the tail has a number."""
    p, ch, days = products[ev.product[i]], int(ev.channel[i]), int(ev.period[i])
    limit = (
        f"the {CHANNEL_LABELS[CHANNELS[ch]]} limit of {format_number(p.max_qty[ch])} {p.unit} "
        f"per {days} days"
    )
    had = "the member received "
    unit = f" {p.unit} from "
    rejects = f"; rejects with code {REJECT_CODE}."
    decided = int(ev.decision[i])
    if decided == APPROVE:
        return f"Within {limit}: {had}", unit, "up to ", " more may be dispensed now.", True
    o = overrides[ev.winner[i]][1] if ev.winner[i] >= 0 else None
    if o is None:  # deny: no override met (or the product has none)
        return f"Over {limit}: {had}", unit, "up to ", f" more may be dispensed now{rejects}", True
    cap = f"{format_number(o.max_qty[ch])} {p.unit} per {days} days"
    if decided == DENY:  # the override met allows no more in this window
        allows = f"the most the {o.criterion_id} override allows ({cap})"
        return (
            f"Over {limit} and {allows}: {had}",
            unit,
            "up to ",
            f" more may be dispensed now{rejects}",
            True,
        )
    c = criteria.get(o.criterion_id)
    why = c.description[0].lower() + c.description[1:] if c else o.criterion_id
    months = f"{format_number(o.approval_months)} months"
    approvable = f"approvable on coverage review for {months}{rejects}"
    if ev.quantity[i] > ev.approved[i]:
        return (
            f"Over {limit}, but {why}: {had}",
            unit,
            "",
            f" {p.unit} (what this override's {cap} leaves) are {approvable}",
            True,
        )
    tail = f"the quantity requested is (this override allows up to {cap}) {approvable}"
    return f"Over {limit}, but {why}: {had}", unit, tail, "", False


def _tails(words: list[tuple], kind: np.ndarray, room: np.ndarray) -> pa.Array:
    """Each claim's tail: its kind's words around its number (none left: "no more")."""
    numbered = np.array([w[4] for w in words], dtype=bool)[kind]
    room = np.where(numbered, room, 0)
    rooms, room_code = _distinct(room)
    pairs, inverse = _distinct(kind * len(rooms) + room_code)  # each (kind, room) once
    texts = []
    for pair in pairs:
        k, r = divmod(pair, len(rooms))
        before, after, has_number = words[k][2], words[k][3], words[k][4]
        if not has_number:
            texts.append(before)
        elif rooms[r] <= 0 and before == "up to ":
            texts.append("no" + after)
        else:
            texts.append(f"{before}{format_number(rooms[r] / MICRO)}{after}")
    return _texts(texts, inverse)


def _numbers(values: np.ndarray) -> pa.Array:
    """Millionths as people write the quantity (each distinct value written once)."""
    distinct, inverse = _distinct(values)
    return _texts([format_number(v / MICRO) for v in distinct], inverse)


def _dates(days: np.ndarray, after: str) -> pa.Array:
    """Day numbers as ISO dates and `after`, each written once."""
    distinct, inverse = _distinct(days)
    return _texts([dt.date.fromordinal(d).isoformat() + after for d in distinct], inverse)


def _distinct(values: np.ndarray) -> tuple[list[int], np.ndarray]:
    """Whole numbers' distinct values (as Python ints) and each one's index into them: hashed by
    Arrow, not sorted."""
    encoded = arrays.int_array(np.asarray(values, dtype=np.int64)).dictionary_encode()
    return encoded.dictionary.to_pylist(), arrays.ints(encoded.indices)


def _texts(texts: list[str], codes: np.ndarray) -> pa.Array:
    """Each code's text (built from buffers: dqm decide never imports pandas)."""
    return arrays.text_array(texts).take(arrays.int_array(codes))
