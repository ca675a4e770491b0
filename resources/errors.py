"""The root of errors meant for people: the CLI prints their message (no traceback), Dagster
shows it on the failed step. A message says what failed, where, and what to do — and never holds
a secret or a raw payload."""


class SieveError(Exception):
    pass
