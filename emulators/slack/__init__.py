"""The Slack emulator: its Web API (``api``), the channels and messages it serves (``data``)
and their entities (``model``)."""
