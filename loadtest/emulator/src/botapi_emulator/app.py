"""The emulator's HTTP surface: the Bot API, file downloads, control endpoints and metrics.

Routes:
    ``GET|POST /bot<token>/<method>``: the Bot API (query string, urlencoded, multipart or JSON).
    ``GET /file/bot<token>/<file_path>``: downloads of the paths getFile hands out.
    ``GET /__emulator/stats``: counters since the last reset (JSON).
    ``POST /__emulator/reset``: start the counters, the reply record and flood buckets over.
    ``POST /__emulator/check-replies``: which given messages / callback queries got no answer.
    ``GET|POST /__emulator/faults`` and ``/__emulator/flood``: read or replace the configuration.
    ``GET /metrics``: the ``tgemu_*`` counters for Prometheus.
    ``GET /healthz``: liveness.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import asdict, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

import orjson
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.routing import Route

from botapi_emulator.config import EmulatorConfig, FaultConfig
from botapi_emulator.errors import NOT_FOUND, UNAUTHORIZED, ApiError, bad_request
from botapi_emulator.methods import METHODS_BY_KEY, Call, Described
from botapi_emulator.metrics import metrics_response
from botapi_emulator.objects import download
from botapi_emulator.params import Raw, Upload, parse_args
from botapi_emulator.report import reporting
from botapi_emulator.state import EmulatorState

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from starlette.requests import Request

JSON_TYPE = "application/json"
#: A bot token: the bot's numeric id, a colon, and the secret part.
_TOKEN = re.compile(r"(\d{1,20}):[A-Za-z0-9_-]{1,256}")
#: Multipart limits: the Bot API's methods have at most a few dozen fields and attachments.
_MAX_FORM_FIELDS, _MAX_FORM_FILES = 100, 20
_UNKNOWN_METHOD = "unknown"


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    try:
        content = orjson.dumps(body)
    except TypeError:  # an echoed object holding an integer past 64 bits: orjson refuses those
        content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(content, status_code=status, headers=headers, media_type=JSON_TYPE)


def _error(error: ApiError) -> Response:
    return _json(error.to_json(), error.error_code, error.headers)


def _bot_id(token: str, config: EmulatorConfig) -> int:
    match = _TOKEN.fullmatch(token)
    if match is None or (config.token is not None and token != config.token):
        raise UNAUTHORIZED
    return int(match.group(1))


def parse_urlencoded(text: str) -> dict[str, Raw]:
    """A query string or urlencoded body as a dict (the last value of a name wins).

    ``urllib.parse.parse_qsl`` cost a third of a sendMessage call; this skips unquoting for
    the many values that need none.
    """
    values: dict[str, Raw] = {}
    for pair in text.split("&"):
        if not pair:
            continue
        name, _, value = pair.partition("=")
        if "%" in name or "+" in name:
            name = unquote_plus(name)
        if "%" in value or "+" in value:
            value = unquote_plus(value)
        values[name] = value
    return values


async def _raw_args(request: Request) -> dict[str, Raw]:
    """Every parameter value of the request: the query string, then the body's (they win)."""
    raw: dict[str, Raw] = {}
    query = request.scope["query_string"]
    if query:
        raw.update(parse_urlencoded(query.decode("latin-1")))
    if request.method != "POST":
        return raw
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        try:
            form_context = request.form(max_files=_MAX_FORM_FILES, max_fields=_MAX_FORM_FIELDS)
            async with form_context as form:
                for name, value in form.multi_items():
                    if isinstance(value, UploadFile):
                        # The size only: the content is never looked at (it stays spooled).
                        size = value.size or 0
                        raw[name] = Upload(value.filename or name, value.content_type or "", size)
                    else:
                        raw[name] = value
        except HTTPException as exc:  # Starlette's answer to a malformed or oversized form
            raise bad_request(f"can't parse multipart form: {exc.detail}") from None
        return raw
    body = await request.body()
    if not body:
        return raw
    if content_type.startswith(JSON_TYPE):
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise bad_request("can't parse JSON object") from None
        if not isinstance(data, dict):
            raise bad_request("JSON object expected")
        raw.update(data)
    elif content_type.startswith("application/x-www-form-urlencoded"):
        try:
            raw.update(parse_urlencoded(body.decode()))
        except UnicodeDecodeError:
            raise bad_request("request body is not valid UTF-8") from None
    return raw


async def _bot_api(request: Request) -> Response:
    state: EmulatorState = request.app.state.emulator
    name: str = request.path_params["method"]
    method = METHODS_BY_KEY.get(name.lower())
    label = method.name if method is not None else _UNKNOWN_METHOD
    counters = state.counters
    try:
        bot_id = _bot_id(request.path_params["token"], state.config)
        if method is None:
            raise NOT_FOUND
        await state.faults.delay(name.lower())
        raw = await _raw_args(request)
        args, unknown = parse_args(method.params, raw)
        if unknown:
            counters.count_unknown(label, unknown)
            if state.config.strict_parameters:
                raise bad_request(f'unknown parameter "{unknown[0]}"')
        injected = state.faults.error(name.lower())
        if injected is not None:
            counters.injected_errors[label] += 1
            raise injected
        result = await method.handler(Call(state, bot_id, args, raw))
    except ApiError as error:
        counters.requests[(label, error.error_code)] += 1
        if error.scope is not None:
            counters.rate_limited[(label, error.scope)] += 1
        return _error(error)
    counters.requests[(label, 200)] += 1
    if isinstance(result, Described):
        return _json({"ok": True, "result": result.result, "description": result.description})
    return _json({"ok": True, "result": result})


async def _file(request: Request) -> Response:
    state: EmulatorState = request.app.state.emulator
    try:
        _bot_id(request.path_params["token"], state.config)
    except ApiError as error:
        return _error(error)
    content = download(request.path_params["file_path"])
    if content is None:
        return _error(NOT_FOUND)
    return Response(content, media_type="image/jpeg")


async def _stats(request: Request) -> Response:
    state: EmulatorState = request.app.state.emulator
    stats = state.stats()
    stats["config"]["flood_limited_methods"] = sorted(
        method.name for method in METHODS_BY_KEY.values() if method.flood_limited
    )
    return _json(stats)


async def _reset(request: Request) -> Response:
    state: EmulatorState = request.app.state.emulator
    state.reset()
    return _json({"ok": True})


def _control_error(message: str) -> Response:
    return _json({"ok": False, "error": message}, 400)


async def _body_object(request: Request) -> dict[str, Any]:
    body = await request.body()
    data = orjson.loads(body) if body.strip() else {}
    if not isinstance(data, dict):
        raise ValueError("the body must be a JSON object")
    return data


async def _check_replies(request: Request) -> Response:
    state: EmulatorState = request.app.state.emulator
    try:
        data = await _body_object(request)
        messages = [_message_ref(item) for item in data.get("messages", [])]
        queries = data.get("callback_queries", [])
        if not isinstance(queries, list) or not all(isinstance(q, str) for q in queries):
            raise ValueError("callback_queries must be a list of strings")
    except (ValueError, TypeError, orjson.JSONDecodeError) as exc:
        return _control_error(str(exc))
    missing_messages, missing_queries = state.record.missing(messages, queries)
    return _json(
        {
            "missing_messages": [list(pair) for pair in missing_messages],
            "missing_callback_queries": missing_queries,
            "checked": len(messages) + len(queries),
            # Non-zero means the record overflowed and "missing" may include forgotten replies.
            "evicted_messages": state.record.messages.evicted,
            "evicted_callback_queries": state.record.callback_queries.evicted,
        }
    )


def _message_ref(item: Any) -> tuple[int | str, int]:
    if (
        not isinstance(item, list)
        or len(item) != 2
        or not isinstance(item[0], int | str)
        or not isinstance(item[1], int)
    ):
        raise ValueError("messages must be a list of [chat_id, message_id] pairs")
    return item[0], item[1]


async def _faults(request: Request) -> Response:
    state: EmulatorState = request.app.state.emulator
    if request.method == "POST":
        try:
            state.set_faults(FaultConfig.from_json(await _body_object(request)))
        except (ValueError, TypeError, orjson.JSONDecodeError) as exc:
            return _control_error(str(exc))
    return _json(state.config.faults.to_json())


async def _flood(request: Request) -> Response:
    state: EmulatorState = request.app.state.emulator
    if request.method == "POST":
        try:
            changes = await _body_object(request)
            known = set(asdict(state.config.flood))
            if set(changes) - known:
                raise ValueError(f"unknown keys: {sorted(set(changes) - known)}")
            state.set_flood(replace(state.config.flood, **changes))
        except (ValueError, TypeError, orjson.JSONDecodeError) as exc:
            return _control_error(str(exc))
    return _json(state.config.flood.to_json())


async def _metrics(request: Request) -> Response:
    state: EmulatorState = request.app.state.emulator
    return metrics_response(state, request.headers.get("accept", ""))


async def _healthz(_request: Request) -> Response:
    return _json({"ok": True})


async def _not_found(_request: Request, exc: Exception) -> Response:
    if isinstance(exc, HTTPException) and exc.status_code == 405:
        return _error(ApiError(405, "Method Not Allowed"))
    return _error(NOT_FOUND)


def create_app(
    config: EmulatorConfig | None = None,
    *,
    clock: Callable[[], float] | None = None,
    wall_clock: Callable[[], float] | None = None,
) -> Starlette:
    """Build the emulator as an ASGI app.

    Args:
        config: Flood control, faults and options (defaults: Telegram's documented limits).
        clock: Monotonic seconds for flood control (tests pass a manual clock).
        wall_clock: Unix seconds for ``date`` fields.

    Returns:
        The Starlette app; its state lives in ``app.state.emulator`` (an :class:`EmulatorState`).
    """
    clocks: dict[str, Callable[[], float]] = {}
    if clock is not None:
        clocks["clock"] = clock
    if wall_clock is not None:
        clocks["wall_clock"] = wall_clock
    state = EmulatorState(config or EmulatorConfig(), **clocks)
    routes = [
        Route("/bot{token}/{method}", _bot_api, methods=["GET", "POST"]),
        Route("/file/bot{token}/{file_path:path}", _file, methods=["GET"]),
        Route("/__emulator/stats", _stats, methods=["GET"]),
        Route("/__emulator/reset", _reset, methods=["POST"]),
        Route("/__emulator/check-replies", _check_replies, methods=["POST"]),
        Route("/__emulator/faults", _faults, methods=["GET", "POST"]),
        Route("/__emulator/flood", _flood, methods=["GET", "POST"]),
        Route("/metrics", _metrics, methods=["GET"]),
        Route("/healthz", _healthz, methods=["GET"]),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        async with reporting(state, state.config.report_every_s):
            yield

    app = Starlette(
        routes=routes,
        exception_handlers={404: _not_found, 405: _not_found},
        lifespan=lifespan,
    )
    app.state.emulator = state
    return app
