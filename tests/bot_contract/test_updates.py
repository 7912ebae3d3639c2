import pytest
from telegram import Bot, Update

from bot_contract import updates as u

USER = u.User(id=1001, first_name="Ada", username="ada")
GROUP = u.Chat(id=-100123, type="supergroup", title="Fans")


@pytest.fixture
def bot() -> Bot:
    return Bot("123:TEST")


BUILT = {
    u.UpdateType.TEXT: u.text_update(
        1, message_id=1, user=USER, chat=u.Chat.private(USER), date=1_700_000_000, text="hi"
    ),
    u.UpdateType.COMMAND: u.text_update(
        2, message_id=2, user=USER, chat=GROUP, date=1_700_000_000, text="/note buy milk"
    ),
    u.UpdateType.PHOTO: u.photo_update(
        3, message_id=3, user=USER, chat=u.Chat.private(USER), date=1_700_000_000, file_id="f1"
    ),
    u.UpdateType.EDITED_MESSAGE: u.edited_message_update(
        4,
        message_id=1,
        user=USER,
        chat=GROUP,
        date=1_700_000_000,
        edit_date=1_700_000_050,
        text="edited",
    ),
    u.UpdateType.CALLBACK_QUERY: u.callback_query_update(
        5,
        query_id="q5",
        user=USER,
        chat=u.Chat.private(USER),
        message_id=9,
        message_date=1_700_000_000,
        data="note:1",
    ),
    u.UpdateType.MY_CHAT_MEMBER: u.my_chat_member_update(
        6, user=USER, chat=u.Chat.private(USER), date=1_700_000_000, blocked=True
    ),
}


@pytest.mark.parametrize("kind", list(BUILT))
def test_builders_parse_with_ptb_and_classify(kind: u.UpdateType, bot: Bot) -> None:
    data = BUILT[kind]
    update = Update.de_json(data, bot)
    assert update.update_id == data["update_id"]
    assert u.update_kind(data) is kind


def test_command_entity_covers_the_command_only(bot: Bot) -> None:
    update = Update.de_json(BUILT[u.UpdateType.COMMAND], bot)
    assert update.message is not None
    assert update.message.parse_entities(["bot_command"]).popitem()[1] == "/note"


def test_my_chat_member_blocked_is_kicked(bot: Bot) -> None:
    update = Update.de_json(BUILT[u.UpdateType.MY_CHAT_MEMBER], bot)
    assert update.my_chat_member is not None
    assert update.my_chat_member.new_chat_member.status == "kicked"


def test_unknown_shape_is_not_classified() -> None:
    assert u.update_kind({"update_id": 1, "poll": {}}) is None
