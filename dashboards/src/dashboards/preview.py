"""Render the main dashboard from a Prometheus to a PNG (placeholder until the renderer lands)."""

import argparse


def main(args: argparse.Namespace) -> int:
    """Render the preview; returns the exit code."""
    del args
    return 2
