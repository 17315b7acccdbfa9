"""The rule set compiled once into a program, the decision policy written once, and its two
interpreters: one patient (with a trace) and a frame of patients."""
