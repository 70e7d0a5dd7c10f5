"""dqm: Drug Quantity Management rules from an Excel workbook to versioned JSON and decisions."""
