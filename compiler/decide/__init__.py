"""Stage 3, deciding: the ruleset as the engine reads it, drug words, claims in, the vectorised
decision core, messages, explanations, decisions out, impact and the quantity probe. Takes a ruleset
dict; never reads the store or a workbook."""
