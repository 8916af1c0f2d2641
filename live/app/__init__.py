"""encore app: the command line, the TUI, bench: the only layer that may reach export/."""
