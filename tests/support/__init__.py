"""Helpers shared by the test folders (as PTB keeps tests/auxil): ports, processes, Prometheus."""
