import random

from bot_contract import traffic
from loadtest import delivery as d
from loadtest.tally import Tally


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def _setup(**kwargs: float):
    clock = Clock()
    config = traffic.PopulationConfig(users=3, groups=0, group_share=0.0, zipf_s=0.0)
    gen = traffic.TrafficGenerator(
        traffic.Population(config),
        traffic.Mix.from_mapping({"text": 1}),
        traffic.UpdateIdAllocator(start=1),
        clock=clock,
    )
    queues = d.WebhookQueues(Tally(), random.Random(1), clock=clock, **kwargs)
    scheduled: list[tuple[int, float]] = []
    queues._retry_later = lambda key, delay: scheduled.append((key, delay))  # type: ignore[method-assign]
    return clock, gen, queues, scheduled


def test_retry_schedule_is_telegrams() -> None:
    cap = 90.0
    assert [d.retry_delay(n, None, cap) for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 64, 90]
    assert d.retry_delay(3, 7.0, cap) == 7.0  # Retry-After wins
    assert d.retry_delay(1, 99_999, cap) == 3600  # clamped
    assert d.retry_delay(1, -5, cap) == 0
    assert d.parse_retry_after(" 3 ") == 3.0
    assert d.parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") is None


def test_only_the_head_of_a_chat_is_ready_and_order_is_fifo() -> None:
    _, gen, queues, _ = _setup()
    items = [gen.next() for _ in range(30)]
    for item in items:
        queues.offer(item, b"{}")
    keys = {i.queue_key for i in items}
    taken = [queues.take(timeout=0.01) for _ in range(len(keys))]
    assert all(t is not None for t in taken)
    assert queues.take(timeout=0.01) is None  # every chat's head is in flight: nothing else
    heads = {t.queue_key: t.update_id for t in taken if t}
    first_per_chat = {}
    for item in items:
        first_per_chat.setdefault(item.queue_key, item.update["update_id"])
    assert heads == first_per_chat
    assert queues.in_flight == len(keys)


def test_a_failure_blocks_its_chat_and_honours_retry_after() -> None:
    _, gen, queues, scheduled = _setup()
    items = [gen.next() for _ in range(10)]
    for item in items:
        queues.offer(item, b"{}")
    entry = queues.take(timeout=0.01)
    assert entry is not None
    delay = queues.settle(entry, 503, 7.0)
    assert delay == 7.0
    assert scheduled == [(entry.queue_key, 7.0)]
    # Nothing from that chat is ready while its head waits (head-of-line blocking).
    while (other := queues.take(timeout=0.01)) is not None:
        assert other.queue_key != entry.queue_key
        queues.settle(other, 200, None)
    assert queues.tally.deliveries["text|503"] == 1
    # The retry (when the timer fires) sends the same update again and counts a redelivery.
    queues.ready.put_nowait(entry.queue_key)
    again = queues.take(timeout=0.01)
    assert again is entry
    assert again.attempts == 2
    assert queues.settle(again, 200, None) is None
    assert queues.tally.redeliveries["text"] == 1


def test_updates_past_expiry_are_dropped() -> None:
    clock, gen, queues, scheduled = _setup()
    item = gen.next()
    queues.offer(item, b"{}")
    entry = queues.take(timeout=0.01)
    assert entry is not None
    clock.now = item.expires - 0.5  # the 1 s backoff would land past expiry
    assert queues.settle(entry, 500, None) is None
    assert scheduled == []
    assert queues.tally.expired["text"] == 1
    assert queues.pending == 0


def test_duplicate_injection_resends_an_acked_update_once() -> None:
    _, gen, queues, _scheduled = _setup(duplicate_ratio=1.0)
    queues.offer(gen.next(), b"{}")
    entry = queues.take(timeout=0.01)
    assert entry is not None
    assert queues.settle(entry, 200, None) == d.FIRST_RETRY_S  # the "lost 2xx"
    queues.ready.put_nowait(entry.queue_key)
    again = queues.take(timeout=0.01)
    assert again is entry
    assert queues.settle(again, 200, None) is None
    assert queues.tally.duplicates_injected == 1
    assert queues.tally.acked["text"] == 1


def test_max_pending_caps_memory() -> None:
    _, gen, queues, _ = _setup(max_pending=5)
    accepted = [queues.offer(gen.next(), b"{}") for _ in range(8)]
    assert accepted.count(True) == 5
    assert queues.tally.not_created == 3
