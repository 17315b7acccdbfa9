"""Treatment courses: session records, their checks against the plan's limits, the log, and
the protocol's guidance on the course so far."""
