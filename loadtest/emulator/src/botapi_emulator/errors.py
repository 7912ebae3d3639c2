"""Telegram's error answers: the envelope, the status codes and the wording of each error.

Wordings follow the open Bot API server (tdlib/telegram-bot-api, the code core.telegram.org
points to) and what clients observe from the cloud API, e.g. ``Bad Request: chat_id is empty``
or ``Bad Request: parameter "url" is required``.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A Bot API error: answered as ``{"ok": false, "error_code": ..., "description": ...}``.

    Args:
        error_code: The HTTP status and ``error_code`` (400, 401, 404, 409, 429, 5xx).
        description: Telegram's text, including its prefix (``Bad Request: ...``).
        retry_after: For 429: seconds to wait (``parameters.retry_after`` and ``Retry-After``).
        scope: For 429: the budget that refused the call (``chat``, ``group``, ``global``,
            ``webhook``); the emulator's own label, never sent to the client.
    """

    def __init__(
        self,
        error_code: int,
        description: str,
        *,
        retry_after: int | None = None,
        scope: str | None = None,
    ) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after
        self.scope = scope

    def to_json(self) -> dict[str, Any]:
        """The error envelope."""
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body

    @property
    def headers(self) -> dict[str, str]:
        """HTTP headers Telegram adds (``Retry-After`` on 429)."""
        return {} if self.retry_after is None else {"Retry-After": str(self.retry_after)}


def bad_request(reason: str) -> ApiError:
    """A 400 with Telegram's ``Bad Request: `` prefix."""
    return ApiError(400, f"Bad Request: {reason}")


def missing_parameter(name: str) -> ApiError:
    """The generic answer for a required parameter that is absent."""
    return bad_request(f'parameter "{name}" is required')


def too_many_requests(retry_after: int, scope: str) -> ApiError:
    """Flood control: ``Too Many Requests: retry after N`` with the same N in the parameters."""
    return ApiError(
        429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after, scope=scope
    )


UNAUTHORIZED = ApiError(401, "Unauthorized")
NOT_FOUND = ApiError(404, "Not Found")
CHAT_ID_EMPTY = bad_request("chat_id is empty")
CHAT_NOT_FOUND = bad_request("chat not found")
MESSAGE_TEXT_EMPTY = bad_request("message text is empty")
MESSAGE_TOO_LONG = bad_request("message is too long")
CAPTION_TOO_LONG = bad_request("message caption is too long")
WEBHOOK_ACTIVE = ApiError(
    409,
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first",
)
