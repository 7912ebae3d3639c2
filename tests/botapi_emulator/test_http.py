"""Raw HTTP against the emulator: request encodings, Telegram's envelope and error wording."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

import orjson
import pytest

from botapi_emulator import EmulatorConfig, FloodConfig
from botapi_emulator.app import parse_urlencoded
from tests.botapi_emulator.support import TOKEN, Emulator, ManualClock

if TYPE_CHECKING:
    from collections.abc import Callable


def test_get_with_query_string(emulator: Emulator) -> None:
    response = emulator.api(
        "sendMessage", params={"chat_id": "42", "text": "hi", "disable_notification": "true"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["ok"] is True
    assert body["result"]["text"] == "hi"


def test_form_urlencoded_with_json_encoded_objects(emulator: Emulator) -> None:
    response = emulator.api(
        "sendMessage",
        data={"chat_id": "42", "text": "hi", "reply_parameters": '{"message_id": 5}'},
    )
    assert response.json()["ok"] is True
    assert (42 << 32) + 5 in emulator.state.record.messages


def test_json_body_with_typed_values(emulator: Emulator) -> None:
    body = emulator.call(
        "sendMessage",
        chat_id=-100777,
        text="hi",
        reply_parameters={"message_id": 6, "chat_id": -100777},
        protect_content=True,
    )
    assert body["ok"] is True
    assert body["result"]["chat"] == {"id": -100777, "type": "group", "title": "Group 100777"}
    assert body["result"]["has_protected_content"] is True


def test_multipart_upload(emulator: Emulator) -> None:
    response = emulator.api(
        "sendPhoto",
        data={"chat_id": "42", "caption": "c", "photo": "attach://pic"},
        files={"pic": ("pic.jpg", b"\xff\xd8 bytes", "image/jpeg")},
    )
    body = response.json()
    assert body["ok"] is True, body
    assert len(body["result"]["photo"]) == 3
    assert emulator.state.stats()["unknown_parameters"] == {}


def test_query_and_body_are_merged(emulator: Emulator) -> None:
    response = emulator.client.post(f"/bot{TOKEN}/sendMessage?chat_id=42", data={"text": "hi"})
    assert response.json()["result"]["chat"]["id"] == 42


def test_method_names_are_case_insensitive(emulator: Emulator) -> None:
    assert emulator.client.get(f"/bot{TOKEN}/GETME").json()["ok"] is True


@pytest.mark.parametrize(
    ("method", "params", "status", "description"),
    [
        ("sendMessage", {"text": "x"}, 400, "Bad Request: chat_id is empty"),
        ("sendMessage", {"chat_id": "", "text": "x"}, 400, "Bad Request: chat_id is empty"),
        ("sendMessage", {"chat_id": "abc", "text": "x"}, 400, "Bad Request: chat not found"),
        ("sendMessage", {"chat_id": "42"}, 400, "Bad Request: message text is empty"),
        ("sendMessage", {"chat_id": "42", "text": " "}, 400, "Bad Request: message text is empty"),
        (
            "sendMessage",
            {"chat_id": 42, "text": "x" * 4097},
            400,
            "Bad Request: message is too long",
        ),
        (
            "sendMessage",
            {"chat_id": 42, "text": "x", "parse_mode": "bbcode"},
            400,
            "Bad Request: unsupported parse_mode 'bbcode'",
        ),
        (
            "sendMessage",
            {"chat_id": 42, "text": "x", "reply_parameters": "{not json"},
            400,
            "Bad Request: can't parse reply parameters JSON object",
        ),
        (
            "sendMessage",
            {"chat_id": 42, "text": "x", "message_thread_id": "one"},
            400,
            "Bad Request: invalid message_thread_id specified",
        ),
        ("sendPhoto", {"chat_id": 42}, 400, "Bad Request: there is no photo in the request"),
        ("setWebhook", {}, 400, 'Bad Request: parameter "url" is required'),
        ("getFile", {}, 400, 'Bad Request: parameter "file_id" is required'),
        (
            "answerCallbackQuery",
            {},
            400,
            "Bad Request: query is too old and response timeout expired or query ID is invalid",
        ),
        ("sendChatAction", {"chat_id": 42}, 400, "Bad Request: wrong parameter action in request"),
        ("deleteMessage", {"chat_id": 42}, 400, "Bad Request: message identifier is not specified"),
        ("setMyCommands", {}, 400, 'Bad Request: parameter "commands" is required'),
        ("noSuchMethod", {}, 404, "Not Found"),
    ],
)
def test_errors_use_telegrams_envelope_and_wording(
    emulator: Emulator, method: str, params: dict[str, object], status: int, description: str
) -> None:
    response = emulator.api(method, json=params)
    assert response.status_code == status
    assert response.json() == {"ok": False, "error_code": status, "description": description}


@pytest.mark.parametrize("token", ["nocolon", "abc:def", "123:", "123:has space"])
def test_malformed_token_is_401(emulator: Emulator, token: str) -> None:
    response = emulator.client.get(f"/bot{token}/getMe")
    assert response.status_code == 401
    assert response.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}


def test_configured_token_rejects_others(start_emulator: Callable[..., Emulator]) -> None:
    emulator = start_emulator(EmulatorConfig(token=TOKEN))
    assert emulator.api("getMe").status_code == 200
    assert emulator.api("getMe", token="999:other").status_code == 401  # noqa: S106 (fake)


def test_unknown_paths_answer_telegram_404(emulator: Emulator) -> None:
    for path in ("/", "/bot", f"/bot{TOKEN}", "/file/bot123:abc/photos/nope.jpg"):
        response = emulator.client.get(path)
        assert response.status_code == 404, path
        assert response.json()["description"] == "Not Found"


def test_bad_bodies(emulator: Emulator) -> None:
    url = f"/bot{TOKEN}/sendMessage"
    headers = {"content-type": "application/json"}
    not_json = emulator.client.post(url, content=b"{oops", headers=headers)
    assert not_json.json()["description"] == "Bad Request: can't parse JSON object"
    array = emulator.client.post(url, content=b"[1]", headers=headers)
    assert array.status_code == 400
    broken = emulator.client.post(
        url,
        content=b"--xyz\r\nContent-Disposition: form-data\r\n\r\nno name\r\n--xyz--\r\n",
        headers={"content-type": "multipart/form-data; boundary=xyz"},
    )
    assert broken.status_code == 400
    assert broken.json()["description"].startswith("Bad Request: can't parse multipart form")


def test_unknown_parameters_are_ignored_and_counted(emulator: Emulator) -> None:
    body = emulator.call("sendMessage", chat_id=42, text="x", reply_to_message_id=11, colour="red")
    assert body["ok"] is True
    unknown = emulator.client.get("/__emulator/stats").json()["unknown_parameters"]
    assert unknown == {"sendMessage": {"colour": 1, "reply_to_message_id": 1}}
    # The legacy reply_to_message_id still marks the reply, as the real server honours it.
    assert (42 << 32) + 11 in emulator.state.record.messages


def test_strict_parameters_refuse_unknown_ones(start_emulator: Callable[..., Emulator]) -> None:
    emulator = start_emulator(EmulatorConfig(strict_parameters=True))
    response = emulator.api("sendMessage", json={"chat_id": 42, "text": "x", "colour": "red"})
    assert response.status_code == 400
    assert response.json()["description"] == 'Bad Request: unknown parameter "colour"'


def test_get_updates_conflicts_while_a_webhook_is_set(emulator: Emulator) -> None:
    assert emulator.call("getUpdates")["result"] == []
    assert emulator.call("setWebhook", url="https://example.com/hook")["ok"]
    response = emulator.api("getUpdates", json={})
    assert response.status_code == 409
    assert response.json()["description"].startswith(
        "Conflict: can't use getUpdates method while webhook is active"
    )


class TestSetWebhook:
    def test_descriptions_follow_the_state(
        self, start_emulator: Callable[..., Emulator], clock: ManualClock
    ) -> None:
        emulator = start_emulator(clock=clock)
        hook = {"url": "https://example.com/hook", "secret_token": "abc"}
        assert emulator.call("setWebhook", **hook)["description"] == "Webhook was set"
        clock.advance(1.0)
        assert emulator.call("setWebhook", **hook)["description"] == "Webhook is already set"
        assert emulator.call("deleteWebhook")["description"] == "Webhook was deleted"
        assert emulator.call("deleteWebhook")["description"] == "Webhook is already deleted"
        assert emulator.call("setWebhook", url="")["description"] == "Webhook is already deleted"

    def test_rate_limited_to_about_one_per_second(
        self, start_emulator: Callable[..., Emulator], clock: ManualClock
    ) -> None:
        emulator = start_emulator(clock=clock)
        assert emulator.call("setWebhook", url="https://a.example/hook")["ok"]
        response = emulator.api("setWebhook", json={"url": "https://b.example/hook"})
        assert response.status_code == 429
        assert response.headers["retry-after"] == "1"
        assert response.json()["parameters"] == {"retry_after": 1}
        clock.advance(1.0)
        assert emulator.call("setWebhook", url="https://b.example/hook")["ok"]
        info = emulator.call("getWebhookInfo")["result"]
        assert info["url"] == "https://b.example/hook"
        assert emulator.state.stats()["rate_limited"]["by_scope"] == {"webhook": 1}

    @pytest.mark.parametrize(
        ("params", "description"),
        [
            ({"secret_token": "x" * 257}, "Bad Request: secret token is too long"),
            ({"secret_token": "a+b"}, "Bad Request: secret token contains unallowed characters"),
            ({"url": "ftp://example.com/"}, "Bad Request: invalid webhook URL specified"),
            ({"url": "https://[::1/hook"}, "Bad Request: invalid webhook URL specified"),
            ({"url": "https://example.com:99999/"}, "Bad Request: invalid webhook URL specified"),
            (
                {"ip_address": "300.1.1.1"},
                "Bad Request: bad webhook: Invalid IP address specified",
            ),
            (
                {"allowed_updates": '"message"'},
                "Bad Request: can't parse allowed updates JSON object",
            ),
        ],
    )
    def test_validation(self, emulator: Emulator, params: dict[str, str], description: str) -> None:
        response = emulator.api("setWebhook", data={"url": "https://example.com/h", **params})
        assert response.status_code == 400
        assert response.json()["description"] == description

    def test_longest_allowed_secret_is_accepted(self, emulator: Emulator) -> None:
        body = emulator.call("setWebhook", url="https://e.example/h", secret_token="A_-9" * 64)
        assert body["ok"] is True

    @pytest.mark.parametrize(("given", "kept"), [(0, 1), (-5, 1), (101, 100), (100, 100)])
    def test_max_connections_is_clamped_like_the_server(
        self, emulator: Emulator, given: int, kept: int
    ) -> None:
        assert emulator.call("setWebhook", url="https://e.example/h", max_connections=given)["ok"]
        assert emulator.call("getWebhookInfo")["result"]["max_connections"] == kept

    def test_strict_url_mode_wants_https_on_telegram_ports(
        self, start_emulator: Callable[..., Emulator]
    ) -> None:
        config = EmulatorConfig(strict_webhook_url=True, flood=FloodConfig(enabled=False))
        emulator = start_emulator(config)
        plain = emulator.api("setWebhook", json={"url": "http://example.com/hook"})
        assert plain.json()["description"] == (
            "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
        )
        port = emulator.api("setWebhook", json={"url": "https://example.com:8080/hook"})
        assert port.json()["description"] == (
            "Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
        )
        assert emulator.call("setWebhook", url="https://example.com:8443/hook")["ok"]

    def test_certificate_upload_is_reported(self, emulator: Emulator) -> None:
        response = emulator.api(
            "setWebhook",
            data={"url": "https://example.com/h"},
            files={"certificate": ("cert.pem", b"-----BEGIN CERTIFICATE-----", "text/plain")},
        )
        assert response.json()["ok"] is True
        assert emulator.call("getWebhookInfo")["result"]["has_custom_certificate"] is True


def test_file_download_matches_get_file(emulator: Emulator) -> None:
    file = emulator.call("getFile", file_id="photo-90")["result"]
    content = emulator.client.get(f"/file/bot{TOKEN}/{file['file_path']}")
    assert content.status_code == 200
    assert content.headers["content-type"] == "image/jpeg"
    assert len(content.content) == file["file_size"]
    assert content.content[:2] == b"\xff\xd8"
    assert emulator.client.get(f"/file/botbad/{file['file_path']}").status_code == 401


def test_control_endpoints_validate_their_bodies(emulator: Emulator) -> None:
    client = emulator.client
    for body in ({"messages": [[1]]}, {"messages": "x"}, {"callback_queries": [1]}, [1]):
        response = client.post("/__emulator/check-replies", content=orjson.dumps(body))
        assert response.status_code == 400, body
        assert response.json()["ok"] is False
    assert client.post("/__emulator/faults", json={"error_ratio": 2}).status_code == 400
    assert client.post("/__emulator/faults", json={"nonsense": 1}).status_code == 400
    assert client.post("/__emulator/flood", json={"global_rate": 0}).status_code == 400
    assert client.post("/__emulator/flood", json={"nonsense": 1}).status_code == 400
    assert client.get("/__emulator/reset").status_code == 405
    assert client.get("/healthz").json() == {"ok": True}


@pytest.mark.parametrize(
    "text",
    [
        "chat_id=42&text=Hello%20there&reply_parameters=%7B%22message_id%22%3A7%7D",
        "a=1&b=&c&a=2",
        "text=caf%C3%A9+au+lait&emoji=%F0%9F%91%8D",
        "%61=x&&b=1+2%2B3",
        "",
    ],
)
def test_urlencoded_parsing_agrees_with_the_standard_library(text: str) -> None:
    expected = dict(parse_qsl(text, keep_blank_values=True))
    assert parse_urlencoded(text) == expected


def test_non_ascii_form_values(emulator: Emulator) -> None:
    body = emulator.api("sendMessage", data={"chat_id": "42", "text": "café 👍 a+b"}).json()
    assert body["result"]["text"] == "café 👍 a+b"


def test_integers_past_52_bits_are_refused(emulator: Emulator) -> None:
    thread = emulator.api(
        "sendMessage", json={"chat_id": 42, "text": "x", "message_thread_id": 2**60}
    )
    assert thread.json()["description"] == "Bad Request: invalid message_thread_id specified"
    chat = emulator.api("sendMessage", json={"chat_id": 2**60, "text": "x"})
    assert chat.json()["description"] == "Bad Request: chat not found"
    # An echoed object may still carry one; the answer is then written by the stdlib encoder.
    markup = {"inline_keyboard": [[{"text": "a", "callback_data": "a", "pay": 2**70}]]}
    body = emulator.call("sendMessage", chat_id=42, text="x", reply_markup=markup)
    assert body["result"]["reply_markup"] == markup
