"""tgscale bot: a stateless PTB 22 webhook service whose state lives in PostgreSQL."""
