"""tgscale's locustfile: Telegram-faithful webhook delivery, load profiles and gates.

Run it with plain Locust, e.g. ``locust -f loadtest/locustfile.py --host http://127.0.0.1:8080``
(web UI), add ``--headless --load-profile steady`` for CI, or ``--master``/``--worker`` to spread
the load. ``python -m loadtest run`` wraps it with a local environment and a report folder.
Options: ``locust -f loadtest/locustfile.py --help`` (section "tgscale load suite").
"""

from locust import events, run_single_user

from loadtest import hooks
from loadtest.users import TelegramUpdateUser

hooks.install(events)


class Shape(hooks.ProfileShape):
    """The profile's shape (see loadtest/src/loadtest/shapes.py)."""


__all__ = ["Shape", "TelegramUpdateUser"]

if __name__ == "__main__":
    run_single_user(TelegramUpdateUser)
