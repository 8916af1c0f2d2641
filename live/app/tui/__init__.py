"""encore app tui: the performer's screen (Textual)."""
