"""Development scripts (run through the shell wrappers beside them)."""
