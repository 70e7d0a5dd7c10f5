"""The window arithmetic of Per Days limits (compiler/decide/window.py), on coded claims: what
counts toward a claim, in what order, and what the claim is approved."""

from __future__ import annotations

import numpy as np

from compiler.decide.window import MICRO, NO_CAP, Fills, Window, accumulate

NO_FILLS = Fills(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))


def run(rows, fills=NO_FILLS, days=30, limit=60, cap=None, fixed=None):
    """rows: (group, day, quantity) in input order; returns [(A, approved)] in whole units."""
    group, day, quantity = (np.array(c, dtype=np.int64) for c in zip(*rows, strict=True))
    n = len(rows)
    claims = Window(
        group=group,
        day=day,
        order=np.arange(n, dtype=np.int64),
        quantity=quantity * MICRO,
        limit=np.full(n, limit * MICRO, np.int64),
        cap=np.full(n, NO_CAP if cap is None else cap * MICRO, np.int64),
        days=np.full(n, days, np.int64),
        fixed=None if fixed is None else np.array(fixed, dtype=np.int64),
    )
    a, approved = accumulate(claims, fills)
    return [(int(x) / MICRO, int(y) / MICRO) for x, y in zip(a, approved, strict=True)]


def fills(rows):
    g, d, q = (np.array(c, dtype=np.int64) for c in zip(*rows, strict=True))
    return Fills(g, d, q * MICRO)


def test_a_fill_on_the_windows_first_day_counts_and_one_a_day_earlier_does_not():
    # Window of 30 days for a claim on day 100: days 71..100.
    assert run([(0, 100, 30)], fills([(0, 71, 40)])) == [(40, 0)]  # 40 + 30 > 60: deny
    assert run([(0, 100, 30)], fills([(0, 70, 40)])) == [(0, 30)]
    assert run([(0, 100, 20)], fills([(0, 71, 40)])) == [(40, 20)]  # 40 + 20 = 60: approve


def test_claims_of_one_run_count_toward_later_ones_by_date_then_input_order():
    # Out of date order in the file: day 10's claim counts toward day 20's, not the reverse.
    assert run([(0, 20, 40), (0, 10, 30)]) == [(30, 0), (0, 30)]
    # The same date: the earlier in the input counts toward the later.
    assert run([(0, 10, 30), (0, 10, 30), (0, 10, 1)]) == [(0, 30), (30, 30), (60, 0)]


def test_a_denial_counts_nothing_and_other_groups_are_apart():
    assert run([(0, 1, 70), (0, 2, 60), (1, 2, 60)]) == [(0, 0), (0, 60), (0, 60)]


def test_an_override_counts_what_it_approved_up_to_its_cap_net_of_what_was_received():
    # Cap 90 over the window: 75 (override 75), then 20 more (override 15), then nothing left.
    assert run([(0, 1, 75), (0, 2, 20), (0, 3, 5)], cap=90) == [(0, 75), (75, 15), (90, 0)]


def test_a_claim_the_window_does_not_decide_still_counts_what_it_was_approved():
    assert run([(0, 1, 50), (0, 2, 20)], fixed=[50 * MICRO, -1]) == [(0, 50), (50, 0)]


def test_fractions_add_exactly():
    claims = Window(
        group=np.zeros(3, np.int64),
        day=np.array([1, 2, 3]),
        order=np.arange(3),
        quantity=np.array([100_000, 200_000, 1]),  # 0.1, 0.2, 0.000001
        limit=np.full(3, 300_000),  # 0.3
        cap=np.full(3, NO_CAP),
        days=np.full(3, 30),
    )
    a, approved = accumulate(claims, NO_FILLS)
    assert (a.tolist(), approved.tolist()) == ([0, 100_000, 300_000], [100_000, 200_000, 0])


def test_many_claims_of_one_member_match_a_plain_loop():
    rng = np.random.default_rng(7)
    rows = [
        (int(g), int(d), int(q))
        for g, d, q in zip(
            rng.integers(0, 5, 400),
            rng.integers(0, 200, 400),
            rng.integers(1, 40, 400),
            strict=True,
        )
    ]
    hist = [
        (int(g), int(d), int(q))
        for g, d, q in zip(
            rng.integers(0, 5, 100),
            rng.integers(0, 200, 100),
            rng.integers(1, 40, 100),
            strict=True,
        )
    ]
    got = run(rows, fills(hist), days=30, limit=60, cap=90)
    # The contract, claim by claim, in the order claims count.
    expected, approved = {}, {}
    for i in sorted(range(len(rows)), key=lambda i: (rows[i][0], rows[i][1], i)):
        g, d, q = rows[i]
        a = sum(hq for hg, hd, hq in hist if hg == g and d - 29 <= hd <= d)
        a += sum(approved[j] for j in approved if rows[j][0] == g and d - 29 <= rows[j][1] <= d)
        approved[i] = q if a + q <= 60 else max(0, min(q, 90 - a))
        expected[i] = (a, approved[i])
    assert got == [expected[i] for i in range(len(rows))]
