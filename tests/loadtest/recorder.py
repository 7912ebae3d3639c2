"""A recording webhook server for the load-suite tests (gevent WSGI, 127.0.0.1, port 0).

It records every delivery (update_id, queue key, arrival order, concurrency) and answers as
scripted: a fixed status, optional latency, and per-update failures with Retry-After.
Run standalone with ``python tests/loadtest/recorder.py [delay_ms] [status]`` for manual tries.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

import gevent
from gevent.pywsgi import WSGIServer

CALLBACK_QUEUE_OFFSET = 3 << 33


def queue_key(update: dict[str, Any]) -> int:
    if "callback_query" in update:
        return int(update["callback_query"]["from"]["id"]) + CALLBACK_QUEUE_OFFSET
    for field_name in ("message", "edited_message", "my_chat_member"):
        if field_name in update:
            return int(update[field_name]["chat"]["id"])
    raise ValueError(update)


@dataclass
class Delivery:
    update_id: int
    key: int
    arrived: float
    secret: str | None


@dataclass
class Recorder:
    delay_s: float = 0.0
    status: int = 200
    secret: str | None = None
    # update_id -> list of (status, retry_after) to answer before succeeding
    script: dict[int, list[tuple[int, str | None]]] = field(default_factory=dict)
    fail_first_n: int = 0  # the first N distinct updates get one 503 with retry_after_s
    retry_after_s: str | None = None
    deliveries: list[Delivery] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    failed_once: set[int] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # the 2xx answer's body for an update (a Bot API method, or b"" as the bot's api mode)
    body: Callable[[dict[str, Any]], bytes] | None = None

    def app(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        update = json.loads(body)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            secret = environ.get("HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN")
            self.deliveries.append(
                Delivery(update["update_id"], queue_key(update), time.time(), secret)
            )
            if self.delay_s:
                gevent.sleep(self.delay_s)
            status, retry_after = self._answer(update["update_id"])
        finally:
            self.in_flight -= 1
        payload = self.body(update) if self.body is not None and status < 300 else b"{}"
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
        if retry_after is not None:
            headers.append(("Retry-After", retry_after))
        start_response(f"{status} X", headers)
        return [payload]

    def _answer(self, update_id: int) -> tuple[int, str | None]:
        steps = self.script.get(update_id)
        if steps:
            return steps.pop(0)
        if (
            self.fail_first_n
            and update_id not in self.failed_once
            and (len(self.failed_once) < self.fail_first_n)
        ):
            self.failed_once.add(update_id)
            return 503, self.retry_after_s
        return self.status, None


def serve(recorder: Recorder) -> tuple[WSGIServer, str]:
    server = WSGIServer(("127.0.0.1", 0), recorder.app, log=None, error_log=None)
    server.start()
    return server, f"http://127.0.0.1:{server.server_port}"


if __name__ == "__main__":
    rec = Recorder(
        delay_s=float(sys.argv[1]) / 1000 if len(sys.argv) > 1 else 0.0,
        status=int(sys.argv[2]) if len(sys.argv) > 2 else 200,
    )
    srv, url = serve(rec)
    print(url, flush=True)
    srv.serve_forever()
