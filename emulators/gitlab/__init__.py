"""The GitLab emulator: its REST v4 API (``api``). Its projects come from the repository
generator in ``emulators.github.data``, hosted on GitLab."""
