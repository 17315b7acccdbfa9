"""The engine: a loaded rule set and the assessment of one patient or a frame of patients."""
