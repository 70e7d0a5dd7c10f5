"""What each sheet must look like: one pandera DataFrameModel per sheet, the human header as alias.

Declarations only: reading (reader.py), typing of cells (cells.py) and the cross-sheet rules
(rules.py) live elsewhere. Each field's `description` is the help staff see on the header and its
`metadata["example"]` is what a message suggests typing instead.
"""

from __future__ import annotations

from ..vocabulary import (  # noqa: F401  (OPTIONAL_SHEETS re-exported)
    CHANNEL_LABELS,
    CODE_SYSTEMS,
    DECISIONS,
    OPTIONAL_SHEETS,
    POLICY_STATUSES,
    SHEET_NAMES,
)
from .pandera_import import pandera_pandas

pa = pandera_pandas()
from pandera.typing import Series  # noqa: E402  (after pandera_pandas, which loads pandera)

SLUG = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"

POLICY_TYPES = ["Per Rx"]
STATUSES = list(POLICY_STATUSES)  # blank means Active
MET_WHEN = ["Concomitant drug on list", "Attested"]
CHANNELS = list(CHANNEL_LABELS.values())  # as the Tests sheet writes them
CODE_SYSTEM_LABELS = list(CODE_SYSTEMS.values())  # as the Product Codes sheet writes them
EXPECTED_DECISIONS = [
    d.title() for d in DECISIONS[:3]
]  # a Tests row expects a valid claim's decision


def _field(header: str, help: str, example: str, **checks) -> pa.Field:
    # Every column is nullable to pandera; `required` is our own check so a blank cell never hides
    # the column's other failures.
    return pa.Field(
        alias=header, nullable=True, description=help, metadata={"example": example}, **checks
    )


def _required(*headers: str):
    """The check that these columns' cells are not blank (a check of its own: see `_field`)."""
    return pa.check(*headers, name="required", ignore_na=False)(lambda cls, s: s.notna())


def _whole_number(*headers: str):
    """The check that these columns' numbers are whole (months, not 1.5)."""
    return pa.check(*headers, name="whole_number")(lambda cls, s: s % 1 == 0)


class _Sheet(pa.DataFrameModel):
    class Config:
        strict = False  # unknown columns are a warning from the reader, not a schema failure
        coerce = False  # cells.py parses numbers and dates first, so every bad cell is reported


class RulesetSheet(_Sheet):
    ruleset_id: Series[str] = _field(
        "Ruleset ID", "Short id naming this ruleset in exports.", "oncology-dqm", str_matches=SLUG
    )
    title: Series[str] = _field("Title", "The ruleset's name.", "Oncology Drug Quantity Management")
    owner: Series[str] = _field("Owner", "Optional: the team that maintains it.", "Pharmacy Policy")
    effective_date: Series[pa.DateTime] = _field(
        "Effective Date",
        "Optional: the first date of service this version decides (a date cell); blank: the "
        "latest History Review Date.",
        "12/08/2025",
    )

    required = _required("Ruleset ID", "Title")


class PoliciesSheet(_Sheet):
    policy_id: Series[str] = _field(
        "Policy ID",
        "Short unique id of the policy.",
        "imatinib-per-rx",
        str_matches=SLUG,
        unique=True,
    )
    title: Series[str] = _field(
        "Title",
        "The policy's title.",
        "Oncology – Imatinib Drug Quantity Management Policy – Per Rx",
    )
    policy_type: Series[str] = _field(
        "Policy Type", "The kind of quantity limit.", "Per Rx", isin=POLICY_TYPES
    )
    review_date: Series[pa.DateTime] = _field(
        "Review Date", "Date of the latest review (a date cell).", "12/08/2025"
    )
    approval_months: Series[float] = _field(
        "Approval Duration (months)", "How long an override approval lasts.", "12", ge=1
    )
    notes: Series[str] = _field("Notes", "Optional notes.", "")
    status: Series[str] = _field(
        "Status",
        "Optional: Active (or blank) or Retired. A retired policy keeps its rows; its last History "
        "row records the retirement.",
        "Retired",
        isin=STATUSES,
    )

    required = _required(
        "Policy ID", "Title", "Policy Type", "Review Date", "Approval Duration (months)"
    )
    whole_number = _whole_number("Approval Duration (months)")


class LimitsSheet(_Sheet):
    policy_id: Series[str] = _field("Policy ID", "The policy (from Policies).", "imatinib-per-rx")
    product_id: Series[str] = _field(
        "Product ID",
        "Short unique id of the product (strength and form).",
        "imatinib-400mg-tab",
        str_matches=SLUG,
        unique=True,
    )
    product: Series[str] = _field(
        "Product", "The product's name.", "Gleevec® (imatinib tablets, generic)"
    )
    strength_and_form: Series[str] = _field(
        "Strength and Form", "Strength and dosage form.", "400 mg tablets"
    )
    retail_max_qty: Series[float] = _field(
        "Retail Max Qty per Rx", "Most units one retail prescription may dispense.", "60", gt=0
    )
    home_delivery_max_qty: Series[float] = _field(
        "Home Delivery Max Qty per Rx",
        "Most units one home delivery prescription may dispense.",
        "180",
        gt=0,
    )
    unit: Series[str] = _field("Unit", "The unit counted.", "tablets")
    footnote: Series[str] = _field("Footnote", "Optional: why the limit is what it is.", "")

    required = _required(
        "Policy ID",
        "Product ID",
        "Product",
        "Strength and Form",
        "Retail Max Qty per Rx",
        "Home Delivery Max Qty per Rx",
        "Unit",
    )


class ProductCodesSheet(_Sheet):
    product_id: Series[str] = _field(
        "Product ID", "The product (from Limits) a claim names by this code.", "imatinib-400mg-tab"
    )
    code_system: Series[str] = _field(
        "Code System",
        "NDC (a package's National Drug Code) or RxCUI (RxNorm).",
        "NDC",
        isin=CODE_SYSTEM_LABELS,
    )
    code: Series[str] = _field(
        "Code",
        "NDC: 11 digits, or 10 with hyphens as printed (4-4-2, 5-3-2, 5-4-1). RxCUI: digits.",
        "47335-475-83",
    )
    description: Series[str] = _field(
        "Description", "Optional: the package or concept.", "Sun Pharma, bottle of 30"
    )

    required = _required("Product ID", "Code System", "Code")


class CriteriaSheet(_Sheet):
    criterion_id: Series[str] = _field(
        "Criterion ID",
        "Short unique id of the override criterion.",
        "strong-cyp3a4-inducer",
        str_matches=SLUG,
        unique=True,
    )
    description: Series[str] = _field(
        "Description", "What must be true.", "Patient is taking a strong CYP3A4 inducer"
    )
    met_when: Series[str] = _field(
        "Met When", "How a claim meets it.", "Concomitant drug on list", isin=MET_WHEN
    )
    drug_list_id: Series[str] = _field(
        "Drug List ID",
        "The drug list, when Met When is 'Concomitant drug on list'.",
        "strong-cyp3a4-inducers",
    )

    required = _required("Criterion ID", "Description", "Met When")


class OverridesSheet(_Sheet):
    product_id: Series[str] = _field(
        "Product ID", "The product (from Limits).", "imatinib-400mg-tab"
    )
    criterion_id: Series[str] = _field(
        "Criterion ID", "The criterion (from Criteria).", "strong-cyp3a4-inducer"
    )
    retail_max_qty: Series[float] = _field(
        "Retail Max Qty per Rx", "Retail maximum when the criterion is met.", "90", gt=0
    )
    home_delivery_max_qty: Series[float] = _field(
        "Home Delivery Max Qty per Rx",
        "Home delivery maximum when the criterion is met.",
        "270",
        gt=0,
    )
    approval_months: Series[float] = _field(
        "Approval Duration (months)", "Optional: overrides the policy's duration.", "12", ge=1
    )
    criteria_text: Series[str] = _field("Criteria Text", "Optional: the policy's wording.", "")

    required = _required(
        "Product ID",
        "Criterion ID",
        "Retail Max Qty per Rx",
        "Home Delivery Max Qty per Rx",
    )

    whole_number = _whole_number("Approval Duration (months)")


class DrugListsSheet(_Sheet):
    drug_list_id: Series[str] = _field(
        "Drug List ID", "Short id of the drug list.", "strong-cyp3a4-inducers", str_matches=SLUG
    )
    drug: Series[str] = _field("Drug", "The drug's name.", "rifampin")
    also_known_as: Series[str] = _field(
        "Also Known As", "Optional: other names and brands separated by ;", "rifampicin; Rifadin"
    )
    notes: Series[str] = _field("Notes", "Optional notes.", "")

    required = _required("Drug List ID", "Drug")


class HistorySheet(_Sheet):
    policy_id: Series[str] = _field("Policy ID", "The policy (from Policies).", "imatinib-per-rx")
    type_of_revision: Series[str] = _field(
        "Type of Revision", "Kind of revision.", "Annual Revision"
    )
    summary_of_changes: Series[str] = _field(
        "Summary of Changes", "What changed.", "No criteria changes."
    )
    review_date: Series[pa.DateTime] = _field("Review Date", "Date of this review.", "12/08/2025")

    required = _required("Policy ID", "Type of Revision", "Summary of Changes", "Review Date")


class TestsSheet(_Sheet):
    test_id: Series[str] = _field(
        "Test ID", "Unique id of the test claim.", "t-400-retail-60", unique=True
    )
    product_id: Series[str] = _field(
        "Product ID", "The product (from Limits).", "imatinib-400mg-tab"
    )
    channel: Series[str] = _field("Channel", "Retail or Home Delivery.", "Retail", isin=CHANNELS)
    quantity: Series[float] = _field("Quantity", "Units requested.", "60", gt=0)
    concomitant_drugs: Series[str] = _field(
        "Concomitant Drugs", "Optional: other drugs, separated by ;", "rifampin"
    )
    attested_criteria: Series[str] = _field(
        "Attested Criteria", "Optional: Criterion IDs attested, separated by ;", ""
    )
    expected_decision: Series[str] = _field(
        "Expected Decision", "Approve, Override or Deny.", "Approve", isin=EXPECTED_DECISIONS
    )
    expected_approved_qty: Series[float] = _field(
        "Expected Approved Qty", "Optional: the quantity you expect approved.", "60", ge=0
    )
    notes: Series[str] = _field("Notes", "Optional notes.", "")

    required = _required("Test ID", "Product ID", "Channel", "Quantity", "Expected Decision")


# Sheet name -> model, in workbook order. Product Codes and Tests are optional.
SHEETS: dict[str, type[_Sheet]] = {
    "Ruleset": RulesetSheet,
    "Policies": PoliciesSheet,
    "Limits": LimitsSheet,
    "Product Codes": ProductCodesSheet,
    "Criteria": CriteriaSheet,
    "Overrides": OverridesSheet,
    "Drug Lists": DrugListsSheet,
    "History": HistorySheet,
    "Tests": TestsSheet,
}
assert tuple(SHEETS) == SHEET_NAMES  # the names raw.py reads before pandera is imported


def columns(sheet: str) -> dict[str, pa.Column]:
    """Header -> pandera column, in the sheet's order."""
    return SHEETS[sheet].to_schema().columns


def kind(col: pa.Column) -> str:
    """How cells.py parses a column: 'number', 'date' or 'text'."""
    name = str(col.dtype).lower()
    if "float" in name:
        return "number"
    if "datetime" in name:
        return "date"
    return "text"


def required_headers(sheet: str) -> list[str]:
    """Headers whose cells may not be blank."""
    return [h for h, c in columns(sheet).items() if any(ch.name == "required" for ch in c.checks)]
