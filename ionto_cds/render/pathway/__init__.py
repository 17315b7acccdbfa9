"""The decision pathway: the graph built from the rule set, its SVG, the step-through."""
