"""Dose arithmetic, the limits of a session and their one check, plans."""
