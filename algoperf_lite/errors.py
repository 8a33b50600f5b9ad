"""Errors that mean "the user's input is wrong": the CLI prints their one-line message
(naming the problem and the fix) and exits with code 2, without a traceback."""


class UserError(ValueError):
    """Bad input: an unknown name, a malformed file, a bad config value, missing data."""
