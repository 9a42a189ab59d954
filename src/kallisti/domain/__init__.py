"""Plain models and rules, with no I/O."""
