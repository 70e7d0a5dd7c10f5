"""Stage 1, the workbook: file safety, reading sheets, typing cells, pandera schemas, cross-sheet
rules, findings and their catalogue, the staff template and the annotated copy. Knows nothing of
rulesets or decisions."""
