"""A picture of the rule for one product and channel: where a claim approves, overrides (up to its
cap) or is denied, by requested quantity. The regions and marks are the library's quantity probe
(compiler.decide.probe), read off the engine's own decisions; this module only draws them."""

from __future__ import annotations

import altair as alt
import pandas as pd

from compiler.decide.engine import Engine
from compiler.decide.probe import probe_rule
from compiler.vocabulary import format_number

# Colours by outcome: green approves, blues override (lighter where the cap cuts the quantity), red denies.
COLOURS = {
    "approve": "#2e7d32",
    "override": "#1565c0",
    "override, capped": "#64b5f6",
    "deny": "#c62828",
    "not_applicable": "#9e9e9e",
    "invalid": "#616161",
}


def rule_chart(
    engine: Engine, product_id: str, channel: str, requested: float | None = None
) -> alt.LayerChart:
    """The rule's regions per scenario, the limit and caps dashed, and the reviewer's own claim
    (`requested`) marked in orange."""
    probe = probe_rule(engine, product_id, channel, requested)
    reg, q_max = probe.regions, probe.q_max
    shown = [o for o in COLOURS if o in set(reg["outcome"])]
    x = alt.X(
        "from:Q",
        title=f"Requested quantity ({engine.product(product_id).unit})",
        scale=alt.Scale(domain=[0, q_max]),
    )
    bars = (
        alt.Chart(reg)
        .mark_bar(height=28)
        .encode(
            x=x,
            x2="to:Q",
            y=alt.Y("scenario:N", title=None, sort=None, axis=alt.Axis(labelLimit=320)),
            color=alt.Color(
                "outcome:N",
                title="Decision",
                legend=alt.Legend(orient="bottom"),
                scale=alt.Scale(domain=shown, range=[COLOURS[o] for o in shown]),
            ),
            tooltip=[
                alt.Tooltip("scenario:N"),
                alt.Tooltip("outcome:N", title="decision"),
                alt.Tooltip("from:Q", title="above"),
                alt.Tooltip("to:Q", title="up to"),
                alt.Tooltip("approved:N", title="approved quantity"),
            ],
        )
    )
    rules = alt.Chart(probe.markers).mark_rule(color="black", strokeDash=[4, 3]).encode(x="at:Q")
    labels = (
        alt.Chart(probe.markers)
        .mark_text(align="left", dx=4, dy=-6, baseline="bottom")
        .encode(x="at:Q", y=alt.value(0), text="label:N")
    )
    layers = [bars, rules, labels]
    if requested is not None:
        label = f"this claim: {format_number(requested, thousands=False)}"
        mine = pd.DataFrame({"at": [requested], "label": [label]})
        layers.append(alt.Chart(mine).mark_rule(color="#ef6c00", strokeWidth=3).encode(x="at:Q"))
        # Above the limit and cap labels; on the line's left when it sits near the right edge.
        near_edge = requested > 0.8 * q_max
        layers.append(
            alt.Chart(mine)
            .mark_text(
                align="right" if near_edge else "left",
                dx=-4 if near_edge else 4,
                dy=-20,
                baseline="bottom",
                color="#ef6c00",
                fontWeight="bold",
            )
            .encode(x="at:Q", y=alt.value(0), text="label:N")
        )
    # A height per scenario row: a fixed total height would be shared with the legend.
    return alt.layer(*layers).properties(height={"step": 44})
