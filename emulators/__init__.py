"""Local GitHub, GitLab, Jira Cloud and Slack API emulators serving one deterministic demo
organization (see README.md beside this file).

Entry points: ``emulators.server.EmulatorServer``, ``emulators.cli.serve`` and the pytest
fixtures in ``emulators.pytest_plugin``. Used by tests, benchmarks and ``sieve emulate``/``sieve
demo`` only; never imported by product code.
"""
