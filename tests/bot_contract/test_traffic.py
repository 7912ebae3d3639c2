import itertools
from collections import Counter

import pytest
from telegram import Bot, Update

from bot_contract import traffic as t
from bot_contract import updates as u


@pytest.fixture(scope="module")
def bot() -> Bot:
    return Bot("123:TEST")


def _generator(slot: int = 0, slots: int = 1, **population: int | float) -> t.TrafficGenerator:
    config = t.PopulationConfig(**{"users": 300, "groups": 20, "seed": 7, **population})
    ids = t.UpdateIdAllocator(start=10_000, slot=slot, slots=slots)
    return t.TrafficGenerator(t.Population(config), t.Mix.default(), ids, clock=lambda: 1.8e9)


def test_every_generated_update_parses_with_ptb(bot: Bot) -> None:
    gen = _generator()
    seen: Counter[u.UpdateType] = Counter()
    for _ in range(3000):
        item = gen.next()
        update = Update.de_json(item.update, bot)
        assert update.update_id == item.update["update_id"]
        assert u.update_kind(item.update) is item.kind
        seen[item.kind] += 1
    assert set(seen) == set(u.UpdateType)  # the default mix covers every type


def test_update_ids_are_unique_and_increasing_across_slots() -> None:
    gens = [_generator(slot, 3) for slot in range(3)]
    per_slot = [[g.next().update["update_id"] for _ in range(500)] for g in gens]
    for ids in per_slot:
        assert ids == sorted(ids)
    merged = list(itertools.chain.from_iterable(per_slot))
    assert len(set(merged)) == len(merged)
    # Interleaved: the k-th id of every slot is below the (k+1)-th id of every other slot.
    assert max(ids[10] for ids in per_slot) < min(ids[11] for ids in per_slot)


def test_slots_own_disjoint_chats_so_message_ids_never_collide() -> None:
    gens = [_generator(slot, 2) for slot in range(2)]
    keys: list[set[int]] = [set(), set()]
    replies: list[tuple[int, int]] = []
    for slot, gen in enumerate(gens):
        for _ in range(2000):
            item = gen.next()
            if item.kind is not u.UpdateType.CALLBACK_QUERY:
                keys[slot].add(item.queue_key)
            if item.reply_to:
                replies.append(item.reply_to)
    assert not keys[0] & keys[1]
    assert len(replies) == len(set(replies))


def test_activity_is_zipf_like() -> None:
    gen = _generator(users=1000, groups=0, group_share=0.0, zipf_s=1.1)
    counts = Counter(gen.next().queue_key for _ in range(20_000))
    top = [n for _, n in counts.most_common()]
    # The busiest 1% of chats write far more than the quietest half of the population.
    assert sum(top[:10]) > 0.25 * sum(top)
    assert top[0] > 20 * top[len(top) // 2]


def test_messages_are_consistent_per_chat(bot: Bot) -> None:
    gen = _generator()
    last: dict[int, int] = {}
    for _ in range(2000):
        item = gen.next()
        message = item.update.get("message")
        if message is None:
            continue
        chat_id = message["chat"]["id"]
        assert message["message_id"] > last.get(chat_id, 0)
        last[chat_id] = message["message_id"]
        assert message["date"] == 1_800_000_000
        if message["chat"]["type"] == "private":
            assert message["from"]["id"] == chat_id


def test_callback_queries_queue_per_user_and_expire_after_150_s() -> None:
    gen = _generator()
    items = [gen.next() for _ in range(2000)]
    callbacks = [i for i in items if i.kind is u.UpdateType.CALLBACK_QUERY]
    assert callbacks
    for item in callbacks:
        user_id = item.update["callback_query"]["from"]["id"]
        assert item.queue_key == user_id + t.CALLBACK_QUEUE_OFFSET
        assert item.expires - item.created == 150
        assert item.callback_query_id == item.update["callback_query"]["id"]
    texts = [i for i in items if i.kind is u.UpdateType.TEXT]
    assert all(i.expires - i.update["message"]["date"] == 86400 for i in texts)


def test_mix_weights_are_honoured() -> None:
    config = t.PopulationConfig(users=200, groups=0, group_share=0.0)
    mix = t.Mix.from_mapping({"text": 3, "photo": 1})
    gen = t.TrafficGenerator(t.Population(config), mix, t.UpdateIdAllocator(start=1))
    kinds = Counter(gen.next().kind for _ in range(4000))
    assert set(kinds) == {u.UpdateType.TEXT, u.UpdateType.PHOTO}
    assert 2.5 < kinds[u.UpdateType.TEXT] / kinds[u.UpdateType.PHOTO] < 3.5


def test_bad_configuration_is_refused() -> None:
    with pytest.raises(ValueError, match="weights"):
        t.Mix.from_mapping({"text": 0})
    with pytest.raises(ValueError, match="'sticker'"):
        t.Mix.from_mapping({"sticker": 1})
    with pytest.raises(ValueError, match="slot"):
        t.UpdateIdAllocator(start=1, slot=3, slots=2)


def test_default_update_id_start_grows_with_the_clock() -> None:
    assert t.default_update_id_start(1_800_000_001) - t.default_update_id_start(1_800_000_000) == (
        1_000_000
    )
