"""The emulator fixtures for these tests.

pytest only honours ``pytest_plugins`` in the top-level conftest (tests/conftest.py, the lead's
file), so this directory imports the plugin's fixtures instead; with the plugin also registered
at the top, these definitions simply take precedence here.
"""

from emulators.pytest_plugin import _shared_tiny_emulator, emulator, emulator_factory  # noqa: F401
