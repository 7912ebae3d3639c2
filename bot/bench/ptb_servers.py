# ruff: noqa: S105, D103, ARG001  (a benchmark script, not shipped)
"""The benchmark's PTB baselines: ``python ptb_servers.py {webhook|uvicorn} PORT API COUNTFILE``.

``webhook``: PTB's built-in ``run_webhook`` (tornado) with a trivial handler (no write, no reply).
``uvicorn``: PTB behind uvicorn (Starlette, as PTB's custom-webhook example), processing each
update inside the request and replying with ``send_message`` through PTB's default HTTP client.
Both write their handled count to COUNTFILE every 50 ms, so the driver counts work finished.
"""

import asyncio
import sys
import threading
import time
from pathlib import Path

from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters

SECRET = "bench-secret-0123456789"
TOKEN = "123456:bench-token"
handled = 0


def _writer(path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    while True:
        tmp.write_text(str(handled))
        tmp.replace(path)  # atomic: the driver never reads a half-written file
        time.sleep(0.05)


async def trivial(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    global handled
    handled += 1


async def reply(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    global handled
    assert update.effective_message is not None  # noqa: S101
    await update.effective_message.reply_text("ok")
    handled += 1


def main() -> None:
    mode, port, api, countfile = sys.argv[1], int(sys.argv[2]), sys.argv[3], Path(sys.argv[4])
    threading.Thread(target=_writer, args=(countfile,), daemon=True).start()
    builder = (
        Application.builder().token(TOKEN).base_url(f"{api}/bot").base_file_url(f"{api}/file/bot")
    )
    if mode == "webhook":
        application = builder.concurrent_updates(True).build()
        application.add_handler(MessageHandler(filters.ALL, trivial))
        application.run_webhook(
            listen="127.0.0.1", port=port, url_path="telegram/webhook", secret_token=SECRET,
            webhook_url="https://example.test:8443/telegram/webhook",
        )  # fmt: skip
        return
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    application = builder.updater(None).build()
    application.add_handler(MessageHandler(filters.ALL, reply))

    async def webhook(request: Request) -> Response:
        if request.headers.get("X-Telegram-Bot-Api-Secret-Token") != SECRET:
            return Response(status_code=403)
        update = Update.de_json(await request.json(), application.bot)
        await application.process_update(update)
        return Response()

    async def run() -> None:
        app = Starlette(routes=[Route("/telegram/webhook", webhook, methods=["POST"])])
        config = uvicorn.Config(app, host="127.0.0.1", port=port, loop="uvloop", http="httptools",
                                access_log=False, log_level="warning")  # fmt: skip
        async with application:
            await application.start()
            await uvicorn.Server(config).serve()
            await application.stop()

    asyncio.run(run())


if __name__ == "__main__":
    main()
