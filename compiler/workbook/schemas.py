"""What each sheet must look like: one pandera DataFrameModel per sheet, the human header as alias.

Declarations only: reading (reader.py), typing of cells (cells.py) and the cross-sheet rules
(rules.py) live elsewhere. Each field's `description` is the help staff see on the header and its
`metadata["example"]` is what a message suggests typing instead.
"""

from __future__ import annotations

from ..vocabulary import (  # noqa: F401  (OPTIONAL_SHEETS and SLUG re-exported)
    CHANNEL_LABELS,
    CODE_SYSTEMS,
    DECISIONS,
    MAX_ID_LENGTH,
    OPTIONAL_SHEETS,
    POLICY_STATUSES,
    SHEET_NAMES,
    SLUG,
)
from . import headers as h
from .pandera_import import pandera_pandas

pa = pandera_pandas()
from pandera.typing import Series  # noqa: E402  (after pandera_pandas, which loads pandera)

ID = {"str_matches": SLUG, "str_length": {"max_value": MAX_ID_LENGTH}}

POLICY_TYPES = ["Per Rx", "Per Days"]
MAX_DAYS = 365  # a window of days is 1 to 365 days long
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


def _days(*headers: str):
    """The check that these columns hold a window of days: a whole number from 1 to MAX_DAYS."""
    return pa.check(*headers, name="days")(lambda cls, s: (s % 1 == 0) & (s >= 1) & (s <= MAX_DAYS))


_RETAIL_DAYS_HELP = (
    "Per Days policies only: the days the retail maximum covers (60 tablets per 30 days: 30), "
    "a whole number from 1 to 365. Empty on a Per Rx policy."
)
_HOME_DELIVERY_DAYS_HELP = (
    "Per Days policies only: the days the home delivery maximum covers (180 tablets per 90 days: "
    "90), a whole number from 1 to 365. Empty on a Per Rx policy."
)


class _Sheet(pa.DataFrameModel):
    class Config:
        strict = False  # unknown columns are a warning from the reader, not a schema failure
        coerce = False  # cells.py parses numbers and dates first, so every bad cell is reported


class RulesetSheet(_Sheet):
    ruleset_id: Series[str] = _field(
        h.RULESET_ID, "Short id naming this ruleset in exports.", "oncology-dqm", **ID
    )
    title: Series[str] = _field(h.TITLE, "The ruleset's name.", "Oncology Drug Quantity Management")
    owner: Series[str] = _field(h.OWNER, "Optional: the team that maintains it.", "Pharmacy Policy")
    effective_date: Series[pa.DateTime] = _field(
        h.EFFECTIVE_DATE,
        "Optional: the first date of service this version decides (a date cell); blank: the "
        "latest History Review Date.",
        "12/08/2025",
    )

    required = _required(h.RULESET_ID, h.TITLE)


class PoliciesSheet(_Sheet):
    policy_id: Series[str] = _field(
        h.POLICY_ID,
        "Short unique id of the policy.",
        "imatinib-per-rx",
        **ID,
        unique=True,
    )
    title: Series[str] = _field(
        h.TITLE,
        "The policy's title.",
        "Oncology – Imatinib Drug Quantity Management Policy – Per Rx",
    )
    policy_type: Series[str] = _field(
        h.POLICY_TYPE,
        "The kind of quantity limit: Per Rx (per prescription) or Per Days (over a window of "
        "days: Retail Days and Home Delivery Days on Limits).",
        "Per Rx",
        isin=POLICY_TYPES,
    )
    review_date: Series[pa.DateTime] = _field(
        h.REVIEW_DATE, "Date of the latest review (a date cell).", "12/08/2025"
    )
    approval_months: Series[float] = _field(
        h.APPROVAL_MONTHS, "How long an override approval lasts.", "12", ge=1
    )
    notes: Series[str] = _field(h.NOTES, "Optional notes.", "")
    status: Series[str] = _field(
        h.STATUS,
        "Optional: Active (or blank) or Retired. A retired policy keeps its rows; its last History "
        "row records the retirement.",
        "Retired",
        isin=STATUSES,
    )

    required = _required(h.POLICY_ID, h.TITLE, h.POLICY_TYPE, h.REVIEW_DATE, h.APPROVAL_MONTHS)
    whole_number = _whole_number(h.APPROVAL_MONTHS)


class LimitsSheet(_Sheet):
    policy_id: Series[str] = _field(h.POLICY_ID, "The policy (from Policies).", "imatinib-per-rx")
    product_id: Series[str] = _field(
        h.PRODUCT_ID,
        "Short unique id of the product (strength and form).",
        "imatinib-400mg-tab",
        **ID,
        unique=True,
    )
    product: Series[str] = _field(
        h.PRODUCT, "The product's name.", "Gleevec® (imatinib tablets, generic)"
    )
    strength_and_form: Series[str] = _field(
        h.STRENGTH_AND_FORM, "Strength and dosage form.", "400 mg tablets"
    )
    retail_max_qty: Series[float] = _field(
        h.RETAIL_MAX_QTY,
        "Most units one retail prescription may dispense (Per Days: in any Retail Days days).",
        "60",
        gt=0,
    )
    home_delivery_max_qty: Series[float] = _field(
        h.HOME_DELIVERY_MAX_QTY,
        "Most units one home delivery prescription may dispense (Per Days: in any Home Delivery "
        "Days days).",
        "180",
        gt=0,
    )
    unit: Series[str] = _field(h.UNIT, "The unit counted.", "tablets")
    footnote: Series[str] = _field(h.FOOTNOTE, "Optional: why the limit is what it is.", "")
    retail_days: Series[float] = _field(h.RETAIL_DAYS, _RETAIL_DAYS_HELP, "30")
    home_delivery_days: Series[float] = _field(h.HOME_DELIVERY_DAYS, _HOME_DELIVERY_DAYS_HELP, "90")
    status: Series[str] = _field(
        h.STATUS,
        "Optional: Active (or blank) or Retired. A retired product keeps its row, and its claims "
        "decide not applicable; a History row of its policy records it.",
        "Retired",
        isin=STATUSES,
    )

    required = _required(
        h.POLICY_ID,
        h.PRODUCT_ID,
        h.PRODUCT,
        h.STRENGTH_AND_FORM,
        h.RETAIL_MAX_QTY,
        h.HOME_DELIVERY_MAX_QTY,
        h.UNIT,
    )
    days = _days(h.RETAIL_DAYS, h.HOME_DELIVERY_DAYS)


class ProductCodesSheet(_Sheet):
    product_id: Series[str] = _field(
        h.PRODUCT_ID, "The product (from Limits) a claim names by this code.", "imatinib-400mg-tab"
    )
    code_system: Series[str] = _field(
        h.CODE_SYSTEM,
        "NDC (a package's National Drug Code) or RxCUI (RxNorm).",
        CODE_SYSTEM_LABELS[0],
        isin=CODE_SYSTEM_LABELS,
    )
    code: Series[str] = _field(
        h.CODE,
        "NDC: 11 digits, or 10 with hyphens as printed (4-4-2, 5-3-2, 5-4-1). RxCUI: digits.",
        "47335-475-83",
    )
    description: Series[str] = _field(
        h.DESCRIPTION, "Optional: the package or concept.", "Sun Pharma, bottle of 30"
    )

    required = _required(h.PRODUCT_ID, h.CODE_SYSTEM, h.CODE)


class CriteriaSheet(_Sheet):
    criterion_id: Series[str] = _field(
        h.CRITERION_ID,
        "Short unique id of the override criterion.",
        "strong-cyp3a4-inducer",
        **ID,
        unique=True,
    )
    description: Series[str] = _field(
        h.DESCRIPTION, "What must be true.", "Patient is taking a strong CYP3A4 inducer"
    )
    met_when: Series[str] = _field(
        h.MET_WHEN, "How a claim meets it.", "Concomitant drug on list", isin=MET_WHEN
    )
    drug_list_id: Series[str] = _field(
        h.DRUG_LIST_ID,
        "The drug list, when Met When is 'Concomitant drug on list'.",
        "strong-cyp3a4-inducers",
    )

    required = _required(h.CRITERION_ID, h.DESCRIPTION, h.MET_WHEN)


class OverridesSheet(_Sheet):
    product_id: Series[str] = _field(
        h.PRODUCT_ID, "The product (from Limits).", "imatinib-400mg-tab"
    )
    criterion_id: Series[str] = _field(
        h.CRITERION_ID, "The criterion (from Criteria).", "strong-cyp3a4-inducer"
    )
    retail_max_qty: Series[float] = _field(
        h.RETAIL_MAX_QTY, "Retail maximum when the criterion is met.", "90", gt=0
    )
    home_delivery_max_qty: Series[float] = _field(
        h.HOME_DELIVERY_MAX_QTY,
        "Home delivery maximum when the criterion is met.",
        "270",
        gt=0,
    )
    approval_months: Series[float] = _field(
        h.APPROVAL_MONTHS, "Optional: overrides the policy's duration.", "12", ge=1
    )
    criteria_text: Series[str] = _field(h.CRITERIA_TEXT, "Optional: the policy's wording.", "")
    retail_days: Series[float] = _field(
        h.RETAIL_DAYS, "Per Days policies only: the product's Retail Days, typed again.", "30"
    )
    home_delivery_days: Series[float] = _field(
        h.HOME_DELIVERY_DAYS,
        "Per Days policies only: the product's Home Delivery Days, typed again.",
        "90",
    )

    required = _required(
        h.PRODUCT_ID,
        h.CRITERION_ID,
        h.RETAIL_MAX_QTY,
        h.HOME_DELIVERY_MAX_QTY,
    )

    whole_number = _whole_number(h.APPROVAL_MONTHS)
    days = _days(h.RETAIL_DAYS, h.HOME_DELIVERY_DAYS)


class DrugListsSheet(_Sheet):
    drug_list_id: Series[str] = _field(
        h.DRUG_LIST_ID, "Short id of the drug list.", "strong-cyp3a4-inducers", **ID
    )
    drug: Series[str] = _field(h.DRUG, "The drug's name.", "rifampin")
    also_known_as: Series[str] = _field(
        h.ALSO_KNOWN_AS, "Optional: other names and brands separated by ;", "rifampicin; Rifadin"
    )
    notes: Series[str] = _field(h.NOTES, "Optional notes.", "")

    required = _required(h.DRUG_LIST_ID, h.DRUG)


class HistorySheet(_Sheet):
    policy_id: Series[str] = _field(h.POLICY_ID, "The policy (from Policies).", "imatinib-per-rx")
    type_of_revision: Series[str] = _field(
        h.TYPE_OF_REVISION, "Kind of revision.", "Annual Revision"
    )
    summary_of_changes: Series[str] = _field(
        h.SUMMARY_OF_CHANGES, "What changed.", "No criteria changes."
    )
    review_date: Series[pa.DateTime] = _field(h.REVIEW_DATE, "Date of this review.", "12/08/2025")

    required = _required(h.POLICY_ID, h.TYPE_OF_REVISION, h.SUMMARY_OF_CHANGES, h.REVIEW_DATE)


class TestsSheet(_Sheet):
    test_id: Series[str] = _field(
        h.TEST_ID, "Unique id of the test claim.", "t-400-retail-60", unique=True
    )
    product_id: Series[str] = _field(
        h.PRODUCT_ID,
        "The product (from Limits); or name it by NDC or RxCUI.",
        "imatinib-400mg-tab",
    )
    channel: Series[str] = _field(h.CHANNEL, "Retail or Home Delivery.", "Retail", isin=CHANNELS)
    quantity: Series[float] = _field(h.QUANTITY, "Units requested.", "60", gt=0)
    concomitant_drugs: Series[str] = _field(
        h.CONCOMITANT_DRUGS, "Optional: other drugs, separated by ;", "rifampin"
    )
    attested_criteria: Series[str] = _field(
        h.ATTESTED_CRITERIA, "Optional: Criterion IDs attested, separated by ;", ""
    )
    expected_decision: Series[str] = _field(
        h.EXPECTED_DECISION, "Approve, Override or Deny.", "Approve", isin=EXPECTED_DECISIONS
    )
    expected_approved_qty: Series[float] = _field(
        h.EXPECTED_APPROVED_QTY, "Optional: the quantity you expect approved.", "60", ge=0
    )
    notes: Series[str] = _field(h.NOTES, "Optional notes.", "")
    member_id: Series[str] = _field(
        h.MEMBER_ID,
        "The member; required for a Per Days product (earlier rows of the same member and "
        "product count toward later ones).",
        "M-1001",
    )
    date_of_service: Series[pa.DateTime] = _field(
        h.DATE_OF_SERVICE,
        "Optional: the date of service (a date cell); required for a Per Days product's window.",
        "01/15/2026",
    )
    ndc: Series[str] = _field(
        h.NDC, "Optional: a package NDC from Product Codes, naming the product.", "47335-475-83"
    )
    rxcui: Series[str] = _field(
        h.RXCUI, "Optional: an RxCUI from Product Codes, naming the product.", "403879"
    )

    required = _required(h.TEST_ID, h.CHANNEL, h.QUANTITY, h.EXPECTED_DECISION)


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


def fields(sheet: str) -> dict[str, str]:
    """Header -> the ruleset field it fills (the model's attribute: 'Retail Max Qty per Rx' ->
    'retail_max_qty'), in the sheet's order: what build() maps rows by."""
    return {header: info.original_name for header, (_, info) in SHEETS[sheet].__fields__.items()}


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
