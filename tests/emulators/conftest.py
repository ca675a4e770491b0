"""The emulator fixtures; the lead registers the same plugin in tests/conftest.py."""

pytest_plugins = ["emulators.pytest_plugin"]
