"""The Bot API methods the emulator answers: their parameters (Bot API 10.1) and behaviour.

Each :class:`Method` declares exactly the parameters the spec lists, with the spec's required
flags; ``tests/emulator`` checks that against ``api.json``. Handlers return the ``result`` the
real API returns (or :class:`Described` when Telegram adds a ``description`` to a success).
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from botapi_emulator import objects
from botapi_emulator.errors import (
    CAPTION_TOO_LONG,
    CHAT_ID_EMPTY,
    MESSAGE_TEXT_EMPTY,
    MESSAGE_TOO_LONG,
    WEBHOOK_ACTIVE,
    bad_request,
)
from botapi_emulator.params import Kind, Param, Raw, Upload, parse_chat_id
from botapi_emulator.state import EmulatorState, Webhook

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_SECRET_TOKEN_LENGTH = 256
MAX_CONNECTIONS_DEFAULT, MAX_CONNECTIONS_MIN, MAX_CONNECTIONS_MAX = 40, 1, 100
#: getUpdates never holds a request longer than this (Telegram's long-poll ceiling).
MAX_POLL_TIMEOUT_S = 50
_SECRET_CHARS = re.compile(r"[A-Za-z0-9_-]*")
_PARSE_MODES = frozenset({"html", "markdown", "markdownv2"})
#: sendChatAction's actions (the spec's list, plus upload_video_note, which it names too).
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_QUERY_INVALID = bad_request("query is too old and response timeout expired or query ID is invalid")
_NO_MESSAGE_ID = bad_request("message identifier is not specified")


@dataclass(frozen=True)
class Call:
    """One call being answered: the emulator's state, the bot, and the parsed arguments."""

    state: EmulatorState
    bot_id: int
    args: dict[str, Any]
    raw: dict[str, Raw]


@dataclass(frozen=True)
class Described:
    """A success that Telegram answers with a ``description`` (e.g. "Webhook was set")."""

    result: Any
    description: str


Handler = Callable[[Call], Awaitable[Any]]


@dataclass(frozen=True)
class Method:
    """One Bot API method.

    Attributes:
        name: The method's name as documented (lookups are case-insensitive, as Telegram's are).
        params: Exactly the spec's parameters.
        handler: Computes the result.
        flood_limited: Whether the call sends a message and so spends flood-control budget
            (its handler admits it once the call is known to be valid).
    """

    name: str
    params: tuple[Param, ...]
    handler: Handler
    flood_limited: bool = False


# --- parameter groups shared by several methods ---------------------------------------------------
def _p(name: str, kind: Kind = Kind.STRING) -> Param:
    return Param(name, kind)


_CHAT_ID = Param("chat_id", Kind.CHAT_ID, required=True, missing=CHAT_ID_EMPTY)
_REPLY_MARKUP = _p("reply_markup", Kind.JSON)
_SEND_COMMON_HEAD = (_p("business_connection_id"), _CHAT_ID)
_THREAD = (_p("message_thread_id", Kind.INTEGER), _p("direct_messages_topic_id", Kind.INTEGER))
_SEND_COMMON_TAIL = (
    _p("disable_notification", Kind.BOOLEAN),
    _p("protect_content", Kind.BOOLEAN),
    _p("allow_paid_broadcast", Kind.BOOLEAN),
    _p("message_effect_id"),
    _p("suggested_post_parameters", Kind.JSON),
    _p("reply_parameters", Kind.JSON),
    _REPLY_MARKUP,
)
_EDIT_TARGET = (
    _p("business_connection_id"),
    _p("chat_id", Kind.CHAT_ID),
    _p("message_id", Kind.INTEGER),
    _p("inline_message_id"),
)


# --- helpers ------------------------------------------------------------------------------------
def _check_parse_mode(args: dict[str, Any]) -> None:
    mode = args.get("parse_mode")
    if mode and mode.lower() not in _PARSE_MODES:
        raise bad_request(f"unsupported parse_mode {mode!r}")


def _reply_target(call: Call, chat_id: int | str) -> tuple[int | str, int] | None:
    """The (chat, message) a send replies to: ``reply_parameters``, or the legacy
    ``reply_to_message_id`` the server still honours although the spec dropped it."""
    parameters = call.args.get("reply_parameters")
    if parameters is not None:
        if not isinstance(parameters, dict) or "message_id" not in parameters:
            raise bad_request("can't parse reply parameters JSON object")
        message_id = parameters["message_id"]
        if isinstance(message_id, str) and message_id.lstrip("-").isdigit():
            message_id = int(message_id)
        if not isinstance(message_id, int) or isinstance(message_id, bool):
            raise bad_request("can't parse reply parameters JSON object")
        target_chat = chat_id
        if parameters.get("chat_id") is not None:
            target_chat = parse_chat_id(parameters["chat_id"])
        return target_chat, message_id
    legacy = call.raw.get("reply_to_message_id")
    if isinstance(legacy, int | str) and str(legacy).isdigit():
        return chat_id, int(legacy)
    return None


def _message(call: Call, chat_id: int | str, **fields: Any) -> dict[str, Any]:
    """A new ``Message`` from the bot in ``chat_id``, with the optional fields that are set."""
    state = call.state
    message: dict[str, Any] = {
        "message_id": state.next_message_id(),
        "from": objects.bot_user(call.bot_id),
        "chat": objects.chat(chat_id),
        "date": int(state.wall_clock()),
    }
    thread = call.args.get("message_thread_id")
    if thread is not None:
        message["message_thread_id"] = thread
    message.update({key: value for key, value in fields.items() if value is not None})
    markup = call.args.get("reply_markup")
    if isinstance(markup, dict) and "inline_keyboard" in markup:
        message["reply_markup"] = markup  # Telegram echoes inline keyboards only
    if call.args.get("protect_content"):
        message["has_protected_content"] = True
    return message


def _admit(call: Call, chat_id: int | str) -> None:
    """Spend flood-control budget for one message, or refuse it with 429."""
    state = call.state
    paid = bool(call.args.get("allow_paid_broadcast"))
    denial = state.flood(call.bot_id).admit_message(chat_id, state.clock(), paid=paid)
    if denial is not None:
        raise denial.error()


def _record_send(call: Call, target: tuple[int | str, int] | None) -> None:
    if target is not None:
        call.state.record.reply(*target)
    call.state.messages_sent += 1


# --- handlers -----------------------------------------------------------------------------------
async def _get_me(call: Call) -> Any:
    return objects.bot_user(call.bot_id)


async def _send_message(call: Call) -> Any:
    args = call.args
    text: str = args["text"]
    if not text.strip():
        raise MESSAGE_TEXT_EMPTY
    if len(text) > MAX_TEXT_LENGTH:
        raise MESSAGE_TOO_LONG
    _check_parse_mode(args)
    chat_id = args["chat_id"]
    target = _reply_target(call, chat_id)
    _admit(call, chat_id)
    message = _message(
        call,
        chat_id,
        text=text,
        entities=args.get("entities"),
        link_preview_options=args.get("link_preview_options"),
    )
    _record_send(call, target)
    return message


async def _send_photo(call: Call) -> Any:
    args = call.args
    caption = args.get("caption")
    if caption is not None and len(caption) > MAX_CAPTION_LENGTH:
        raise CAPTION_TOO_LONG
    _check_parse_mode(args)
    chat_id = args["chat_id"]
    photo = args["photo"]
    target = _reply_target(call, chat_id)
    _admit(call, chat_id)
    message = _message(call, chat_id, caption=caption or None)
    if isinstance(photo, Upload):
        base = f"emu-photo-{message['message_id']}"
    else:
        # A file_id (or a URL) sent again: keep its sizes' ids stable.
        base = "emu-photo-" + objects.unique_id(photo)[4:]
    message["photo"] = [
        objects.photo_size(f"{base}-{side}", side, side * 3 // 4)
        for side in objects.UPLOAD_PHOTO_SIDES
    ]
    if caption and args.get("caption_entities"):
        message["caption_entities"] = args["caption_entities"]
    if args.get("has_spoiler"):
        message["has_media_spoiler"] = True
    _record_send(call, target)
    return message


def _edit_target(call: Call) -> int | str | None:
    """The chat of the message to edit, or None for an inline message."""
    args = call.args
    if args.get("inline_message_id"):
        return None
    if "chat_id" in args and "message_id" in args:
        chat_id: int | str = args["chat_id"]
        return chat_id
    raise _NO_MESSAGE_ID


async def _edit_message_text(call: Call) -> Any:
    args = call.args
    text = args.get("text", "")
    if not text.strip() and not args.get("rich_message"):
        raise MESSAGE_TEXT_EMPTY
    if len(text) > MAX_TEXT_LENGTH:
        raise MESSAGE_TOO_LONG
    _check_parse_mode(args)
    chat_id = _edit_target(call)
    if chat_id is None:
        return True
    message = _message(call, chat_id, text=text or None, entities=args.get("entities"))
    message["message_id"] = args["message_id"]
    message["edit_date"] = message["date"]
    return message


async def _edit_message_reply_markup(call: Call) -> Any:
    chat_id = _edit_target(call)
    if chat_id is None:
        return True
    message = _message(call, chat_id)
    message["message_id"] = call.args["message_id"]
    message["edit_date"] = message["date"]
    return message


async def _delete_message(_call: Call) -> Any:
    return True


async def _answer_callback_query(call: Call) -> Any:
    query_id: str = call.args["callback_query_id"]
    if not query_id.strip():
        raise _QUERY_INVALID
    call.state.record.answer(query_id)
    return True


async def _send_chat_action(call: Call) -> Any:
    if call.args["action"] not in CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    return True


async def _get_file(call: Call) -> Any:
    file_id: str = call.args["file_id"]
    if not file_id.strip() or len(file_id) > 256:
        raise bad_request("invalid file_id")
    return objects.file_object(file_id)


async def _set_my_commands(call: Call) -> Any:
    commands = call.args["commands"]
    if not isinstance(commands, list):
        raise bad_request("can't parse commands JSON object")
    return True


def _validated_webhook(call: Call, url: str, previous: Webhook) -> Webhook:
    """The webhook setWebhook asks for, validated as the Bot API server does."""
    args = call.args
    try:
        parts = urlsplit(url if "://" in url else f"https://{url}")  # no scheme: taken as https
        port = parts.port  # raises on a port that is not a number in 0..65535
    except ValueError:
        raise bad_request("invalid webhook URL specified") from None
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise bad_request("invalid webhook URL specified")
    if call.state.config.strict_webhook_url:
        if parts.scheme != "https":
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        if (port or 443) not in {80, 88, 443, 8443}:
            raise bad_request(
                "bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
            )
    secret: str = args.get("secret_token", "")
    if len(secret) > MAX_SECRET_TOKEN_LENGTH:
        raise bad_request("secret token is too long")
    if not _SECRET_CHARS.fullmatch(secret):
        raise bad_request("secret token contains unallowed characters")
    ip_address: str = args.get("ip_address", "")
    if ip_address:
        try:
            ipaddress.ip_address(ip_address)
        except ValueError:
            raise bad_request("bad webhook: Invalid IP address specified") from None
    allowed = args.get("allowed_updates", previous.allowed_updates)
    if allowed is not None and not (
        isinstance(allowed, list) and all(isinstance(kind, str) for kind in allowed)
    ):
        raise bad_request("can't parse allowed updates JSON object")
    # The server clamps max_connections into 1..100 rather than refusing it (Client.cpp).
    connections = args.get("max_connections", MAX_CONNECTIONS_DEFAULT)
    connections = min(max(connections, MAX_CONNECTIONS_MIN), MAX_CONNECTIONS_MAX)
    return Webhook(
        url=url,
        secret_token=secret,
        max_connections=connections,
        ip_address=ip_address,
        allowed_updates=allowed or None,
        has_custom_certificate=isinstance(args.get("certificate"), Upload),
    )


async def _set_webhook(call: Call) -> Any:
    state = call.state
    url: str = call.args["url"].strip()
    previous = state.webhook(call.bot_id)
    if not url:
        state.webhooks[call.bot_id] = Webhook()
        return Described(
            True, "Webhook was deleted" if previous.url else "Webhook is already deleted"
        )
    denial = state.flood(call.bot_id).admit_set_webhook(state.clock())
    if denial is not None:
        raise denial.error()
    wanted = _validated_webhook(call, url, previous)
    state.webhooks[call.bot_id] = wanted
    if previous.same_as(wanted) and not call.args.get("drop_pending_updates"):
        return Described(True, "Webhook is already set")
    return Described(True, "Webhook was set")


async def _delete_webhook(call: Call) -> Any:
    previous = call.state.webhook(call.bot_id)
    call.state.webhooks[call.bot_id] = Webhook()
    return Described(True, "Webhook was deleted" if previous.url else "Webhook is already deleted")


async def _get_webhook_info(call: Call) -> Any:
    hook = call.state.webhook(call.bot_id)
    info: dict[str, Any] = {
        "url": hook.url,
        "has_custom_certificate": hook.has_custom_certificate,
        # The emulator delivers nothing itself: the load suite plays Telegram's delivery side.
        "pending_update_count": 0,
    }
    if hook.url:
        info["max_connections"] = hook.max_connections
        host = urlsplit(hook.url).hostname or ""
        ip_address = hook.ip_address or (host if _is_ip(host) else "")
        if ip_address:
            info["ip_address"] = ip_address
        if hook.allowed_updates:
            info["allowed_updates"] = hook.allowed_updates
    return info


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


async def _get_updates(call: Call) -> Any:
    if call.state.webhook(call.bot_id).url:
        raise WEBHOOK_ACTIVE
    # No update source feeds getUpdates: hold the long poll as Telegram would, then answer [].
    timeout = min(max(call.args.get("timeout", 0), 0), MAX_POLL_TIMEOUT_S)
    if timeout:
        await asyncio.sleep(timeout)
    return []


# --- the registry -------------------------------------------------------------------------------
_METHODS = (
    Method("getMe", (), _get_me),
    Method(
        "setWebhook",
        (
            Param("url", Kind.STRING, required=True),
            _p("certificate", Kind.INPUT_FILE),
            _p("ip_address"),
            _p("max_connections", Kind.INTEGER),
            _p("allowed_updates", Kind.JSON),
            _p("drop_pending_updates", Kind.BOOLEAN),
            _p("secret_token"),
        ),
        _set_webhook,
    ),
    Method("deleteWebhook", (_p("drop_pending_updates", Kind.BOOLEAN),), _delete_webhook),
    Method("getWebhookInfo", (), _get_webhook_info),
    Method(
        "getUpdates",
        (
            _p("offset", Kind.INTEGER),
            _p("limit", Kind.INTEGER),
            _p("timeout", Kind.INTEGER),
            _p("allowed_updates", Kind.JSON),
        ),
        _get_updates,
    ),
    Method(
        "sendMessage",
        (
            *_SEND_COMMON_HEAD,
            *_THREAD,
            Param("text", Kind.STRING, required=True, missing=MESSAGE_TEXT_EMPTY),
            _p("parse_mode"),
            _p("entities", Kind.JSON),
            _p("link_preview_options", Kind.JSON),
            *_SEND_COMMON_TAIL,
        ),
        _send_message,
        flood_limited=True,
    ),
    Method(
        "sendPhoto",
        (
            *_SEND_COMMON_HEAD,
            *_THREAD,
            Param(
                "photo",
                Kind.FILE_OR_STRING,
                required=True,
                missing=bad_request("there is no photo in the request"),
            ),
            _p("caption"),
            _p("parse_mode"),
            _p("caption_entities", Kind.JSON),
            _p("show_caption_above_media", Kind.BOOLEAN),
            _p("has_spoiler", Kind.BOOLEAN),
            *_SEND_COMMON_TAIL,
        ),
        _send_photo,
        flood_limited=True,
    ),
    Method(
        "editMessageText",
        (
            *_EDIT_TARGET,
            _p("text"),
            _p("parse_mode"),
            _p("entities", Kind.JSON),
            _p("link_preview_options", Kind.JSON),
            _p("rich_message", Kind.JSON),
            _REPLY_MARKUP,
        ),
        _edit_message_text,
    ),
    Method("editMessageReplyMarkup", (*_EDIT_TARGET, _REPLY_MARKUP), _edit_message_reply_markup),
    Method(
        "deleteMessage",
        (_CHAT_ID, Param("message_id", Kind.INTEGER, required=True, missing=_NO_MESSAGE_ID)),
        _delete_message,
    ),
    Method(
        "answerCallbackQuery",
        (
            Param("callback_query_id", Kind.STRING, required=True, missing=_QUERY_INVALID),
            _p("text"),
            _p("show_alert", Kind.BOOLEAN),
            _p("url"),
            _p("cache_time", Kind.INTEGER),
        ),
        _answer_callback_query,
    ),
    Method(
        "sendChatAction",
        (
            _p("business_connection_id"),
            _CHAT_ID,
            _p("message_thread_id", Kind.INTEGER),
            Param(
                "action",
                Kind.STRING,
                required=True,
                missing=bad_request("wrong parameter action in request"),
            ),
        ),
        _send_chat_action,
    ),
    Method("getFile", (Param("file_id", Kind.STRING, required=True),), _get_file),
    Method(
        "setMyCommands",
        (
            Param("commands", Kind.JSON, required=True),
            _p("scope", Kind.JSON),
            _p("language_code"),
        ),
        _set_my_commands,
    ),
)

#: Every method the emulator answers, by its documented name.
METHODS: dict[str, Method] = {method.name: method for method in _METHODS}
#: The same, by lower-case name: the Bot API's method names are case-insensitive.
METHODS_BY_KEY: dict[str, Method] = {method.name.lower(): method for method in _METHODS}
