"""The control client against a running emulator."""

from __future__ import annotations

import urllib.error
from typing import TYPE_CHECKING

import pytest

from botapi_emulator.control import EmulatorClient

if TYPE_CHECKING:
    from tests.botapi_emulator.support import Emulator


def test_client_round_trip(emulator: Emulator) -> None:
    client = EmulatorClient(emulator.url + "/")
    emulator.call("sendMessage", chat_id=-100, text="r", reply_parameters={"message_id": 1})
    emulator.call("answerCallbackQuery", callback_query_id="cq")
    check = client.check_replies([(-100, 1), (-100, 2)], ["cq", "other"])
    assert check.missing_messages == [(-100, 2)]
    assert check.missing_callback_queries == ["other"]
    assert check.checked == 4
    assert not check.complete
    assert check.reliable
    assert client.check_replies([(-100, 1)], ["cq"]).complete
    assert client.stats()["messages_sent"] == 1
    client.reset()
    assert client.stats()["messages_sent"] == 0
    assert client.set_faults({"error_ratio": 1.0})["error_ratio"] == 1.0
    assert emulator.api("getMe").status_code == 500
    assert client.set_flood({"per_chat_burst": 7})["per_chat_burst"] == 7


def test_client_reports_refused_configuration(emulator: Emulator) -> None:
    with pytest.raises(urllib.error.HTTPError) as error:
        EmulatorClient(emulator.url).set_faults({"error_ratio": 7})
    assert error.value.code == 400
    error.value.close()
