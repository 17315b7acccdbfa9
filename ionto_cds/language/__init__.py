"""The rule language: the model, the operator table, the fact catalog, and the YAML readers
with file:line errors."""
