"""Conformance with the Bot API 10.1 spec (``api.json``, read at run time, never copied here).

For every method the emulator answers: it declares exactly the spec's parameters with the spec's
required flags and types, it refuses a call missing any required one, it accepts each optional
one, and its result has the spec's shape (required fields present, no field the type lacks).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
import pytest

from botapi_emulator import METHODS
from botapi_emulator.params import Kind, Param

if TYPE_CHECKING:
    from tests.botapi_emulator.support import Emulator

_KIND_OF_SPEC_TYPES = {
    ("Integer",): Kind.INTEGER,
    ("Float",): Kind.FLOAT,
    ("String",): Kind.STRING,
    ("Boolean",): Kind.BOOLEAN,
    ("Integer", "String"): Kind.CHAT_ID,
    ("InputFile",): Kind.INPUT_FILE,
    ("InputFile", "String"): Kind.FILE_OR_STRING,
}
_SAMPLE_BY_NAME: dict[str, Any] = {
    "parse_mode": "HTML",
    "action": "typing",
    "url": "https://example.com/hook",
    "ip_address": "127.0.0.1",
    "timeout": 0,  # getUpdates would hold the request that long
    "reply_parameters": {"message_id": 1},
    "reply_markup": {"inline_keyboard": [[{"text": "a", "callback_data": "a"}]]},
    "entities": [],
    "caption_entities": [],
    "allowed_updates": ["message"],
    "commands": [{"command": "start", "description": "Start"}],
    "link_preview_options": {"is_disabled": True},
    "scope": {"type": "default"},
    "file_id": "photo-90",
}
_SAMPLE_BY_KIND: dict[Kind, Any] = {
    Kind.INTEGER: 1,
    Kind.FLOAT: 1.5,
    Kind.STRING: "sample",
    Kind.BOOLEAN: True,
    Kind.CHAT_ID: 42,
    Kind.JSON: {},
}
_METHOD_NAMES = sorted(METHODS)


def _sample(param: Param) -> Any:
    return _SAMPLE_BY_NAME.get(param.name, _SAMPLE_BY_KIND.get(param.kind))


def _call(emulator: Emulator, method: str, params: tuple[Param, ...]) -> dict[str, Any]:
    """One multipart call with a sample value for each of ``params`` (files as uploads)."""
    data: dict[str, str] = {}
    files: dict[str, tuple[str, bytes, str]] = {}
    for param in params:
        if param.kind in {Kind.INPUT_FILE, Kind.FILE_OR_STRING}:
            files[param.name] = (f"{param.name}.jpg", b"\xff\xd8 not much", "image/jpeg")
            continue
        value = _sample(param)
        if isinstance(value, bool):
            data[param.name] = "true" if value else "false"
        elif isinstance(value, dict | list):
            data[param.name] = orjson.dumps(value).decode()
        else:
            data[param.name] = str(value)
    response = emulator.api(method, data=data, files=files or None)
    body: dict[str, Any] = response.json()
    return body


def _base(method: str) -> tuple[Param, ...]:
    """The smallest valid set of parameters: the required ones, plus what a call needs anyway."""
    params = METHODS[method].params
    needed = {p.name for p in params if p.required}
    if method.startswith("edit"):
        needed |= {"chat_id", "message_id", "text"} & {p.name for p in params}
    return tuple(p for p in params if p.name in needed)


@pytest.mark.parametrize("method", _METHOD_NAMES)
def test_parameters_match_the_spec(spec: dict[str, Any], method: str) -> None:
    assert method in spec["methods"], f"{method} is not a Bot API method"
    expected = {
        field["name"]: (field["required"], tuple(field["types"]))
        for field in spec["methods"][method].get("fields", [])
    }
    declared = {p.name: p for p in METHODS[method].params}
    assert set(declared) == set(expected)
    for name, (required, types) in expected.items():
        param = declared[name]
        assert param.required is required, name
        assert param.kind is _KIND_OF_SPEC_TYPES.get(types, Kind.JSON), (name, types)


@pytest.mark.parametrize("method", _METHOD_NAMES)
def test_required_parameters_are_enforced(emulator: Emulator, method: str) -> None:
    base = _base(method)
    assert _call(emulator, method, base)["ok"] is True
    for param in base:
        if not param.required:
            continue
        body = _call(emulator, method, tuple(p for p in base if p is not param))
        assert body["ok"] is False, param.name
        assert body["error_code"] == 400
        assert body["description"].startswith("Bad Request: "), body


@pytest.mark.parametrize("method", _METHOD_NAMES)
def test_every_optional_parameter_is_accepted(emulator: Emulator, method: str) -> None:
    base = _base(method)
    for param in METHODS[method].params:
        if param in base:
            continue
        body = _call(emulator, method, (*base, param))
        assert body["ok"] is True, (param.name, body)
    assert emulator.state.stats()["unknown_parameters"] == {}


@pytest.mark.parametrize("method", _METHOD_NAMES)
def test_results_have_the_spec_shape(spec: dict[str, Any], emulator: Emulator, method: str) -> None:
    body = _call(emulator, method, _base(method))
    assert set(body) <= {"ok", "result", "description"}
    problems = _mismatches(spec, body["result"], spec["methods"][method]["returns"], "result")
    assert problems == [], problems


def test_the_checker_catches_a_wrong_shape(spec: dict[str, Any]) -> None:
    message = {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}}
    assert _mismatches(spec, message, ["Message"], "m") == []
    assert _mismatches(spec, {"message_id": 1, "date": 0}, ["Message"], "m")
    assert _mismatches(spec, {**message, "colour": "red"}, ["Message"], "m")
    assert _mismatches(spec, {**message, "chat": {"id": "1", "type": "x"}}, ["Message"], "m")


def _mismatches(spec: dict[str, Any], value: Any, types: list[str], path: str) -> list[str]:
    """Why ``value`` is none of ``types`` (empty when it is one of them)."""
    reasons: list[str] = []
    for type_name in types:
        problems = _check(spec, value, type_name, path)
        if not problems:
            return []
        reasons.extend(problems)
    return reasons


def _check(spec: dict[str, Any], value: Any, type_name: str, path: str) -> list[str]:
    if type_name.startswith("Array of "):
        if not isinstance(value, list):
            return [f"{path}: not an array"]
        inner = type_name.removeprefix("Array of ")
        return [
            p for i, item in enumerate(value) for p in _check(spec, item, inner, f"{path}[{i}]")
        ]
    scalar_checks = {
        "Integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "Float": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "String": lambda v: isinstance(v, str),
        "Boolean": lambda v: isinstance(v, bool),
        "True": lambda v: v is True,
    }
    if type_name in scalar_checks:
        return [] if scalar_checks[type_name](value) else [f"{path}: not {type_name}: {value!r}"]
    definition = spec["types"].get(type_name)
    if definition is None:
        return [f"{path}: unknown type {type_name}"]
    if "subtypes" in definition:
        return _mismatches(spec, value, definition["subtypes"], path)
    if not isinstance(value, dict):
        return [f"{path}: {type_name} is not an object"]
    fields = {field["name"]: field for field in definition.get("fields", [])}
    problems = [
        f"{path}.{name}: not a field of {type_name}" for name in value if name not in fields
    ]
    for name, field in fields.items():
        if name not in value:
            if field["required"]:
                problems.append(f"{path}.{name}: required by {type_name}, missing")
            continue
        problems.extend(_mismatches(spec, value[name], field["types"], f"{path}.{name}"))
    return problems
