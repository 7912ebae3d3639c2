"""tgscale's wire contract, shared by the bot, the load suite, the dashboards and the infra.

It owns the webhook path and headers, the Prometheus metric and label names, and the
Update JSON factories. It imports nothing of ours and no runtime (no PTB, psycopg or locust),
so every other member can depend on it.
"""

from bot_contract import metrics, updates, webhook

__all__ = ["metrics", "updates", "webhook"]
