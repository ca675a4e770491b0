"""Shared test fixtures. Source emulators come from their own pytest plugin."""
