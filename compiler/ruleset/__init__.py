"""Stage 2, the ruleset: a valid workbook built into plain data, its Tests decided, diffed against
what is published, its JDM graph made, and published through the exports store (the only writer of
exports/); a draft checked the same way without publishing."""
