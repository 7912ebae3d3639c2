# ruff: noqa: D103  (a benchmark helper, not shipped)
"""A Bot API stub that takes DELAY_MS per sendMessage (getMe answers at once), on aiohttp.

python bot/bench/slow_api.py PORT DELAY_MS
"""

from __future__ import annotations

import asyncio
import sys

from aiohttp import web

GET_ME = {"ok": True, "result": {"id": 123456, "is_bot": True, "first_name": "bench",
                                 "username": "bench_bot"}}  # fmt: skip
SENT = {"ok": True, "result": {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}}}


def main() -> None:
    port, delay = int(sys.argv[1]), int(sys.argv[2]) / 1000

    async def method(request: web.Request) -> web.Response:
        if request.match_info["method"] == "getMe":
            return web.json_response(GET_ME)
        await request.read()
        await asyncio.sleep(delay)
        return web.json_response(SENT)

    app = web.Application()
    app.router.add_post("/{token}/{method}", method)
    app.router.add_get("/{token}/{method}", method)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None, backlog=4096)


if __name__ == "__main__":
    main()
