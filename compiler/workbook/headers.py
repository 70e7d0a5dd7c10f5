"""The workbook's column headers, each spelled once, as the contract writes them.

schemas.py pairs each with its ruleset field (`retail_max_qty = _field(RETAIL_MAX_QTY, …)`); every
other module names a column by these constants. Plain Python (no pandera): the ruleset's diff,
which labels a changed field by its header, imports it without loading the schemas.
"""

# Shared by several sheets
TITLE = "Title"
NOTES = "Notes"
DESCRIPTION = "Description"
POLICY_ID = "Policy ID"
PRODUCT_ID = "Product ID"
CRITERION_ID = "Criterion ID"
DRUG_LIST_ID = "Drug List ID"
REVIEW_DATE = "Review Date"
APPROVAL_MONTHS = "Approval Duration (months)"
RETAIL_MAX_QTY = "Retail Max Qty"
HOME_DELIVERY_MAX_QTY = "Home Delivery Max Qty"
RETAIL_DAYS = "Retail Days"
HOME_DELIVERY_DAYS = "Home Delivery Days"
# The maxima as workbooks spelled them before Per Days policies: still the same columns, and the
# words a per-Rx limit's change is told in.
RETAIL_MAX_QTY_PER_RX = "Retail Max Qty per Rx"
HOME_DELIVERY_MAX_QTY_PER_RX = "Home Delivery Max Qty per Rx"

# Ruleset
RULESET_ID = "Ruleset ID"
OWNER = "Owner"
EFFECTIVE_DATE = "Effective Date"

# Policies
POLICY_TYPE = "Policy Type"
STATUS = "Status"

# Limits
PRODUCT = "Product"
STRENGTH_AND_FORM = "Strength and Form"
UNIT = "Unit"
FOOTNOTE = "Footnote"

# Product Codes
CODE_SYSTEM = "Code System"
CODE = "Code"

# Criteria
MET_WHEN = "Met When"

# Overrides
CRITERIA_TEXT = "Criteria Text"

# Drug Lists
DRUG = "Drug"
ALSO_KNOWN_AS = "Also Known As"

# History
TYPE_OF_REVISION = "Type of Revision"
SUMMARY_OF_CHANGES = "Summary of Changes"

# Tests
TEST_ID = "Test ID"
CHANNEL = "Channel"
QUANTITY = "Quantity"
CONCOMITANT_DRUGS = "Concomitant Drugs"
ATTESTED_CRITERIA = "Attested Criteria"
EXPECTED_DECISION = "Expected Decision"
EXPECTED_APPROVED_QTY = "Expected Approved Qty"
MEMBER_ID = "Member ID"
DATE_OF_SERVICE = "Date of Service"
NDC = "NDC"
RXCUI = "RxCUI"

# A product's or an override's maximum per channel, in the order of CHANNELS (retail first).
CHANNEL_MAX_QTY = (RETAIL_MAX_QTY, HOME_DELIVERY_MAX_QTY)
# A Per Days product's (and its overrides') window per channel, in the same order.
CHANNEL_DAYS = (RETAIL_DAYS, HOME_DELIVERY_DAYS)

# Other spellings that read as a column: spelling -> the column's header (the sheets that have it).
ALSO_SPELLED = {
    RETAIL_MAX_QTY_PER_RX: RETAIL_MAX_QTY,
    HOME_DELIVERY_MAX_QTY_PER_RX: HOME_DELIVERY_MAX_QTY,
}
