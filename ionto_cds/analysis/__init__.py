"""Analysis of rules and decisions: lint, vignettes, sensitivity, decision records."""
