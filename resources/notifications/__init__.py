"""Insight notifications: new and resolved signals of the insights mart, told once each to the
organization's webhook after its sync (off unless `sieve notify` turned them on)."""
