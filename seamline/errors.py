"""Errors a user can act on: the CLI prints their message on one line, without a traceback."""


class SeamlineError(Exception):
    """A failure with a message meant for the operator: secrets, emails and phones are masked here,
    whoever raises it."""

    def __init__(self, message: str = "", *args):
        from seamline.masking import mask_text

        super().__init__(mask_text(str(message)), *args)


class DatabaseUnavailable(SeamlineError):
    """The configured Postgres cannot be reached or refused us."""
