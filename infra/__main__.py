"""Pulumi entry point (`main: infra/`): wiring only; the components live in infra/src/infra."""
