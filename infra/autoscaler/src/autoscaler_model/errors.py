"""The model's errors: a metric the pipeline cannot deliver, a replica count it cannot compute."""

from __future__ import annotations


class ReplicaCalculationError(Exception):
    """The controller could not compute a replica count from one metric (upstream's ``err``)."""


class MetricsUnavailableError(ReplicaCalculationError):
    """The metrics pipeline returned an error or no samples for a metric."""
