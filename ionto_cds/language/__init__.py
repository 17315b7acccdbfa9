"""The rule language: its model, the YAML loader with file:line errors, and evaluation."""
