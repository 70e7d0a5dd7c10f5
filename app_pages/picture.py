"""A picture of the rule for one product and channel: where a claim approves, overrides (up to its
cap) or is denied, by requested quantity. The regions and marks are the library's quantity probe
(compiler.decide.probe), read off the engine's own decisions; this module only draws them.

The picture of a product and channel is drawn once per version (a Vega-Lite spec, cached): a
rerun only adds the reviewer's own quantity to it, since building a chart is most of a rerun's
work otherwise (Altair validates every spec it makes).
"""

from __future__ import annotations

from typing import Any

import altair as alt

from app_pages.memo import memo
from app_pages.text import plain
from compiler.decide.engine import Engine
from compiler.decide.probe import RuleProbe, probe_rule
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
CLAIM_COLOUR = "#ef6c00"


def rule_chart(
    engine: Engine,
    product_id: str,
    channel: str,
    requested: float | None = None,
    received: float = 0.0,
) -> dict[str, Any]:
    """The rule's regions per scenario, the limit and caps dashed, and the reviewer's own claim
    (`requested`) marked in orange, as a Vega-Lite spec; a Per Days product's net of what the
    member `received` in the window."""
    version = engine.ruleset.get("sha256") or engine.ruleset.get("content_sha256")
    probe = _probe((version, product_id, channel, None, received), engine)
    if requested is not None and requested > probe.q_max:  # widened to hold the claim
        probe = _probe((version, product_id, channel, requested, received), engine)
    spec = _rule_spec((version, product_id, channel, probe.q_max, received), probe, engine)
    if requested is None:
        return spec
    return {**spec, "layer": [*spec["layer"], *claim_layers(requested, probe.q_max)]}


@memo(max_entries=512, by_content=True)
def _probe(key: tuple, engine: Engine) -> RuleProbe:
    _, product_id, channel, requested, received = key
    return probe_rule(engine, product_id, channel, requested, received)


@memo(max_entries=512, by_content=True)
def _rule_spec(key: tuple, probe: RuleProbe, engine: Engine) -> dict[str, Any]:
    """The chart without the reviewer's claim (shared by every session: never changed), its
    data written into the spec: Streamlit would otherwise convert each dataset to Arrow again on
    every rerun."""
    _, product_id, channel, q_max, _ = key
    reg = probe.regions.assign(scenario=probe.regions["scenario"].map(plain))
    shown = [o for o in COLOURS if o in set(reg["outcome"])]
    x = alt.X(
        "from:Q",
        title=plain(f"Requested quantity ({engine.product(product_id).unit})"),
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
    # A height per scenario row: a fixed total height would be shared with the legend.
    spec = alt.layer(bars, rules, labels).properties(height={"step": 44}).to_dict()
    datasets = spec.pop("datasets", {})
    for layer in spec["layer"]:
        if "name" in layer.get("data", {}):
            layer["data"] = {"values": datasets[layer["data"]["name"]]}
    return spec


def claim_layers(requested: float, q_max: float) -> list[dict[str, Any]]:
    """The reviewer's claim as an orange line with its quantity above the limit and cap labels;
    on the line's left when it sits near the right edge."""
    label = f"this claim: {format_number(requested, thousands=False)}"
    data = {"values": [{"at": requested, "label": label}]}
    x = {"field": "at", "type": "quantitative"}
    near_edge = requested > 0.8 * q_max
    return [
        {
            "data": data,
            "mark": {"type": "rule", "color": CLAIM_COLOUR, "strokeWidth": 3},
            "encoding": {"x": x},
        },
        {
            "data": data,
            "mark": {
                "type": "text",
                "align": "right" if near_edge else "left",
                "dx": -4 if near_edge else 4,
                "dy": -20,
                "baseline": "bottom",
                "color": CLAIM_COLOUR,
                "fontWeight": "bold",
            },
            "encoding": {"x": x, "y": {"value": 0}, "text": {"field": "label", "type": "nominal"}},
        },
    ]
