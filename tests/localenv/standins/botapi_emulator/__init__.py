"""Stand-in for the loadtest package in child processes (tests only)."""
