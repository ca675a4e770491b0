"""The GitHub emulator: its REST API (``api``), the repositories, pull requests, issues,
commits, deployments and CI runs it serves (``data``, also behind the GitLab emulator), and
their entities (``model``)."""
