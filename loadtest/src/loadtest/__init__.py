"""tgscale load suite: Telegram-faithful traffic in Locust, a Bot API emulator and gates."""
