"""Method parameters: their declared kinds, and how a raw value becomes a typed one.

The Bot API takes the same parameters from a query string, a urlencoded or multipart form, or
a JSON body. In a form every value is a string (objects arrive as JSON text, booleans as
``true``), in JSON they keep their type; :func:`parse_args` accepts both, as the real server does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Any

import orjson

from botapi_emulator.errors import (
    CHAT_ID_EMPTY,
    CHAT_NOT_FOUND,
    ApiError,
    bad_request,
    missing_parameter,
)


class Kind(Enum):
    """A parameter's type, as the Bot API documents it."""

    INTEGER = "Integer"
    FLOAT = "Float"
    STRING = "String"
    BOOLEAN = "Boolean"
    JSON = "JSON"  # an object or an array (serialised as JSON text in forms)
    CHAT_ID = "Integer or String"  # an id, or "@channelusername"
    INPUT_FILE = "InputFile"  # an upload (multipart) only
    FILE_OR_STRING = "InputFile or String"  # an upload, a file_id or an HTTP URL


@dataclass(frozen=True)
class Upload:
    """A file uploaded in a multipart body (only what the emulator needs to know)."""

    filename: str
    content_type: str
    size: int


@dataclass(frozen=True)
class Param:
    """One parameter of a method.

    Attributes:
        name: The parameter's name.
        kind: Its type.
        required: Whether the spec marks it required; absent → ``missing`` (or the generic error).
        missing: Telegram's specific error when it is absent or empty, if it has one.
    """

    name: str
    kind: Kind
    required: bool = False
    missing: ApiError | None = None


Raw = str | int | float | bool | dict[str, Any] | list[Any] | Upload | None

_INT = re.compile(r"-?\d{1,20}")
#: Bot API integers have at most 52 significant bits (so a double holds them exactly).
_MAX_INTEGER = 2**53 - 1
_FLOAT = re.compile(r"-?\d+(\.\d*)?([eE][-+]?\d+)?")
_ATTACH = "attach://"


def parse_args(params: tuple[Param, ...], raw: dict[str, Raw]) -> tuple[dict[str, Any], list[str]]:
    """Typed values for ``params`` from the request's raw values.

    Args:
        params: The method's parameters.
        raw: Every value the request carried (query, form fields, uploads or JSON members).

    Returns:
        The parsed values of the parameters present (absent optional ones are left out), and the
        names of the request's values that are not parameters of the method (Telegram ignores them).

    Raises:
        ApiError: 400 for a missing required parameter or a value that cannot be parsed.
    """
    args: dict[str, Any] = {}
    for param in params:
        value = raw.get(param.name)
        if value is None or (value == "" and param.required and param.kind is not Kind.STRING):
            if param.required:
                raise param.missing or missing_parameter(param.name)
            continue
        parsed = _parse(param, value, raw)
        if param.required and parsed == "" and param.missing is not None:
            raise param.missing
        args[param.name] = parsed
    names = {param.name for param in params}
    attached = {v for v in raw.values() if isinstance(v, str) and v.startswith(_ATTACH)}
    unknown = [
        name
        for name, value in raw.items()
        if name not in names and not (isinstance(value, Upload) and f"{_ATTACH}{name}" in attached)
    ]
    return args, unknown


def _parse(param: Param, value: Raw, raw: dict[str, Raw]) -> Any:
    kind = param.kind
    if kind is Kind.STRING:
        return _string(param, value)
    if kind is Kind.INTEGER:
        return _integer(param.name, value)
    if kind is Kind.CHAT_ID:
        return parse_chat_id(value)
    if kind is Kind.BOOLEAN:
        # The server reads "true" or "1" as true and anything else as false; it never refuses.
        if isinstance(value, bool):
            return value
        return isinstance(value, str | int) and str(value).lower() in {"true", "1"}
    if kind is Kind.FLOAT:
        return _float(param.name, value)
    if kind is Kind.JSON:
        return _json(param.name, value)
    return _file(param, value, raw)


def _string(param: Param, value: Raw) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    raise bad_request(f"invalid {param.name} specified")


def _integer(name: str, value: Raw) -> int:
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif (isinstance(value, float) and value.is_integer()) or (
        isinstance(value, str) and _INT.fullmatch(value.strip())
    ):
        number = int(value)
    if number is None or abs(number) > _MAX_INTEGER:
        raise bad_request(f"invalid {name} specified")
    return number


def _float(name: str, value: Raw) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str) and _FLOAT.fullmatch(value.strip()):
        return float(value)
    raise bad_request(f"invalid {name} specified")


def _json(name: str, value: Raw) -> dict[str, Any] | list[Any]:
    if isinstance(value, dict | list):
        return value
    if isinstance(value, str):
        try:
            parsed = orjson.loads(value)
        except orjson.JSONDecodeError:
            parsed = None
        if isinstance(parsed, dict | list):
            return parsed
    raise bad_request(f"can't parse {name.replace('_', ' ')} JSON object")


def _file(param: Param, value: Raw, raw: dict[str, Raw]) -> Upload | str:
    if isinstance(value, Upload):
        return value
    if isinstance(value, str) and param.kind is Kind.FILE_OR_STRING:
        if value.startswith(_ATTACH):
            attached = raw.get(value[len(_ATTACH) :])
            if isinstance(attached, Upload):
                return attached
            raise bad_request(f"can't find attached file {value[len(_ATTACH) :]!r}")
        if value:
            return value
        raise param.missing or missing_parameter(param.name)
    raise bad_request(f"invalid {param.name} specified")


def parse_chat_id(value: Raw) -> int | str:
    """A ``chat_id``: an integer id or ``@username``, with Telegram's errors for anything else.

    Raises:
        ApiError: ``chat_id is empty`` or ``chat not found``.
    """
    if isinstance(value, bool):
        raise CHAT_NOT_FOUND
    if isinstance(value, int):
        if value == 0 or abs(value) > _MAX_INTEGER:
            raise CHAT_NOT_FOUND
        return value
    if isinstance(value, float) and value.is_integer():
        return parse_chat_id(int(value))
    if not isinstance(value, str):
        raise CHAT_NOT_FOUND
    text = value.strip()
    if not text:
        raise CHAT_ID_EMPTY
    if _INT.fullmatch(text):
        return parse_chat_id(int(text))
    if text.startswith("@") and len(text) > 1:
        return text
    raise CHAT_NOT_FOUND
