"""The one exception type for mistakes a user can make."""


class PlaygroundError(Exception):
    """A user-facing error: the message says what is wrong and how to fix it.

    The command-line front doors print it as one line on stderr and exit with code 2.
    """
