"""Renderers: they read an Assessment (or a rule set) and show it; they never decide."""
