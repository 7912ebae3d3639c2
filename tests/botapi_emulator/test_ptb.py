"""PTB's real ``telegram.Bot`` against the emulator over HTTP: every method the bot uses."""

from __future__ import annotations

import datetime as dtm
import io
from typing import TYPE_CHECKING, Any

import pytest
from PIL import Image
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters
from telegram.constants import ChatAction
from telegram.error import BadRequest, Conflict, InvalidToken, RetryAfter

from botapi_emulator import EmulatorConfig, FloodConfig
from tests.botapi_emulator.support import TOKEN, Emulator, ManualClock

if TYPE_CHECKING:
    from collections.abc import Callable


@pytest.fixture(autouse=True)
def _ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    # Opt in to PTB's future timedelta attributes (RetryAfter.retry_after); the int form warns.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


def _bot(emulator: Emulator, token: str = TOKEN) -> Bot:
    return Bot(token, base_url=f"{emulator.url}/bot", base_file_url=f"{emulator.url}/file/bot")


async def test_get_me_identifies_the_bot_by_its_token(emulator: Emulator) -> None:
    async with _bot(emulator) as bot:
        me = await bot.get_me()
    assert me.id == 123456
    assert me.is_bot
    assert me.username


async def test_malformed_token_is_unauthorized(emulator: Emulator) -> None:
    bot = _bot(emulator, token="123456:bad token!")  # noqa: S106 (fake)
    try:
        with pytest.raises(InvalidToken):
            await bot.initialize()  # calls getMe
    finally:
        await bot.shutdown()  # closes the HTTP client initialize() opened


async def test_webhook_lifecycle(emulator: Emulator) -> None:
    async with _bot(emulator) as bot:
        assert await bot.set_webhook(
            "http://127.0.0.1:8080/telegram/webhook",
            secret_token="s3cret-token_1",  # noqa: S106 (fake)
            max_connections=25,
            allowed_updates=["message", "callback_query"],
        )
        info = await bot.get_webhook_info()
        assert info.url == "http://127.0.0.1:8080/telegram/webhook"
        assert info.max_connections == 25
        assert info.pending_update_count == 0
        assert info.ip_address == "127.0.0.1"
        assert info.allowed_updates == ("message", "callback_query")
        with pytest.raises(Conflict, match="webhook is active"):
            await bot.get_updates()
        assert await bot.delete_webhook()
        info = await bot.get_webhook_info()
        assert info.url == ""
        assert await bot.get_updates() == ()


async def test_send_message_replies_and_is_recorded(emulator: Emulator) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("more", callback_data="more")]])
    async with _bot(emulator) as bot:
        message = await bot.send_message(
            chat_id=42,
            text="hello <b>there</b>",
            parse_mode="HTML",
            reply_parameters=ReplyParameters(message_id=7),
            reply_markup=markup,
        )
        group_message = await bot.send_message(chat_id=-100123, text="hi group")
    assert message.chat.id == 42
    assert message.chat.type == "private"
    assert message.text == "hello <b>there</b>"
    assert message.from_user is not None
    assert message.from_user.is_bot
    assert message.reply_markup == markup
    assert group_message.chat.type == "group"
    assert group_message.message_id != message.message_id
    check = emulator.client.post(
        "/__emulator/check-replies", json={"messages": [[42, 7], [42, 8]], "callback_queries": []}
    ).json()
    assert check["missing_messages"] == [[42, 8]]
    assert check["checked"] == 2


async def test_send_photo_upload_and_file_id(emulator: Emulator) -> None:
    async with _bot(emulator) as bot:
        uploaded = await bot.send_photo(
            chat_id=42,
            photo=b"\xff\xd8\xff\xe0 not really a jpeg",
            caption="a caption",
            reply_parameters=ReplyParameters(message_id=9),
        )
        again = await bot.send_photo(chat_id=42, photo=uploaded.photo[-1].file_id)
    assert uploaded.caption == "a caption"
    assert [size.width for size in uploaded.photo] == [90, 320, 800]
    assert again.photo
    stats = emulator.client.get("/__emulator/stats").json()
    assert stats["replies"]["messages"] == 1
    assert stats["messages_sent"] == 2


async def test_get_file_downloads_a_decodable_image(emulator: Emulator) -> None:
    async with _bot(emulator) as bot:
        file = await bot.get_file("AgACAgIAAxkBAAIB-1280")
        data = await file.download_as_bytearray()
        again = await (await bot.get_file("AgACAgIAAxkBAAIB-1280")).download_as_bytearray()
    assert file.file_size == len(data)
    assert data == again  # deterministic bytes
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG"
        assert image.size == (1280, 960)


async def test_edit_message_text(emulator: Emulator) -> None:
    async with _bot(emulator) as bot:
        sent = await bot.send_message(chat_id=42, text="first")
        edited = await bot.edit_message_text("second", chat_id=42, message_id=sent.message_id)
        inline = await bot.edit_message_text("inline", inline_message_id="AAAA-inline")
        with pytest.raises(BadRequest, match="Message identifier is not specified"):
            await bot.edit_message_text("orphan", chat_id=42)
    assert not isinstance(edited, bool)
    assert edited.message_id == sent.message_id
    assert edited.text == "second"
    assert isinstance(edited.edit_date, dtm.datetime)
    assert inline is True


async def test_answer_callback_query_is_recorded(emulator: Emulator) -> None:
    async with _bot(emulator) as bot:
        assert await bot.answer_callback_query("cbq-1", text="done")
    check = emulator.client.post(
        "/__emulator/check-replies", json={"messages": [], "callback_queries": ["cbq-1", "cbq-2"]}
    ).json()
    assert check["missing_callback_queries"] == ["cbq-2"]


async def test_send_chat_action(emulator: Emulator) -> None:
    async with _bot(emulator) as bot:
        assert await bot.send_chat_action(42, ChatAction.TYPING)
        with pytest.raises(BadRequest, match="Wrong parameter action"):
            await bot.send_chat_action(42, "dancing")


async def test_extra_methods(emulator: Emulator) -> None:
    async with _bot(emulator) as bot:
        sent = await bot.send_message(chat_id=42, text="x")
        assert await bot.delete_message(42, sent.message_id)
        assert await bot.set_my_commands([("start", "Start"), ("notes", "List notes")])
        markup = InlineKeyboardMarkup([[InlineKeyboardButton("a", callback_data="a")]])
        edited = await bot.edit_message_reply_markup(42, sent.message_id, reply_markup=markup)
        assert not isinstance(edited, bool)
        assert edited.reply_markup == markup


async def test_bad_requests_raise_ptb_errors(emulator: Emulator) -> None:
    async with _bot(emulator) as bot:
        with pytest.raises(BadRequest, match="Message text is empty"):
            await bot.send_message(chat_id=42, text="")
        with pytest.raises(BadRequest, match="Chat not found"):
            await bot.send_message(chat_id="not-a-chat", text="x")
        with pytest.raises(BadRequest, match="Secret token contains unallowed characters"):
            await bot.set_webhook("https://example.com/hook", secret_token="no spaces")  # noqa: S106


async def test_flood_control_raises_retry_after(
    start_emulator: Callable[..., Emulator], clock: ManualClock
) -> None:
    emulator = start_emulator(EmulatorConfig(flood=FloodConfig(per_chat_burst=2)), clock=clock)
    async with _bot(emulator) as bot:
        await bot.send_message(chat_id=42, text="1")
        await bot.send_message(chat_id=42, text="2")
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(chat_id=42, text="3")
        retry_after: Any = caught.value.retry_after
        assert retry_after == dtm.timedelta(seconds=1)
        clock.advance(1.0)
        await bot.send_message(chat_id=42, text="3 again")
