"""Validate objects offline: built-in kinds strictly against the Kubernetes schemas of the stack's
``k8sVersion`` (kubernetes-validate), custom resources strictly against the CRDs the stack's own
charts install (their ``openAPIV3Schema``, unknown fields refused as the API server's strict
field validation does). Both libraries are dev dependencies, imported when used."""

from __future__ import annotations

import functools
from typing import Any

CrdIndex = dict[tuple[str, str], dict[str, Any]]


def crd_index(crds: list[dict[str, Any]]) -> CrdIndex:
    """(apiVersion, kind) → the CRD serving it."""
    out: CrdIndex = {}
    for crd in crds:
        spec = crd["spec"]
        for version in spec["versions"]:
            out[(f"{spec['group']}/{version['name']}", spec["names"]["kind"])] = crd
    return out


def strict_schema(schema: Any) -> Any:
    """An ``openAPIV3Schema`` made strict: an object with ``properties`` and no
    preserve-unknown-fields accepts no other keys (the root also its type meta and metadata)."""
    if isinstance(schema, list):
        return [strict_schema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: strict_schema(v) for k, v in schema.items()}
    if (
        "properties" in schema
        and "additionalProperties" not in schema
        and not schema.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
        for key in ("apiVersion", "kind", "metadata"):
            out["properties"].setdefault(key, {})
    return out


_VALIDATORS: dict[tuple[str, str], Any] = {}


def crd_errors(crd: dict[str, Any], obj: dict[str, Any]) -> list[str]:
    """Errors of ``obj`` against the served version of ``crd``."""
    import jsonschema  # type: ignore[import-untyped]

    version = obj["apiVersion"].split("/")[1]
    key = (crd["metadata"]["name"], version)
    if key not in _VALIDATORS:
        served = next(v for v in crd["spec"]["versions"] if v["name"] == version)
        schema = strict_schema(served["schema"]["openAPIV3Schema"])
        _VALIDATORS[key] = jsonschema.validators.Draft7Validator(schema)
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in _VALIDATORS[key].iter_errors(obj)
    ]


@functools.cache
def _kubernetes_validate() -> Any:
    """kubernetes-validate, with its schema file reads cached (it re-reads the 1.4 MB
    definitions on every call, which made a stack's validation take minutes)."""
    import kubernetes_validate  # type: ignore[import-untyped]
    from kubernetes_validate import utils

    utils.schema_contents = functools.cache(utils.schema_contents)
    return kubernetes_validate


def errors(obj: dict[str, Any], crds: CrdIndex, k8s_version: str) -> list[str]:
    """Every schema error of one object (an empty list: valid)."""
    kubernetes_validate = _kubernetes_validate()

    crd = crds.get((obj["apiVersion"], obj["kind"]))
    if crd is not None:
        return crd_errors(crd, obj)
    try:
        kubernetes_validate.validate(obj, k8s_version, strict=True)
    except kubernetes_validate.SchemaNotFoundError:
        return [f"no schema and no CRD of this stack's charts serves {obj['apiVersion']}"]
    except kubernetes_validate.ValidationError as error:
        return [f"{'/'.join(map(str, error.path))}: {error.message}"]
    return []
