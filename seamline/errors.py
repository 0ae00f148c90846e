"""Errors a user can act on: the CLI prints their message on one line, without a traceback."""


class SeamlineError(Exception):
    """A failure with a message meant for the operator (already masked)."""


class DatabaseUnavailable(SeamlineError):
    """The configured Postgres cannot be reached or refused us."""
