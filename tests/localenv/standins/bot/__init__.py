"""Stand-in for the bot package (tests only)."""
