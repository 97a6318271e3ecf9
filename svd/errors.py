"""Errors whose message is one line for the user: what went wrong and what to do about it.

The CLI prints them as `error: <message>` and exits 2; the WebUI shows the message on the page.
"""


class SvdError(Exception):
    """Base class: the message is complete and safe to show as is."""


class InputError(SvdError):
    """A bad picture or setting. Nothing was generated."""


class ModelError(SvdError):
    """The model cannot be found, downloaded or loaded."""


class OutOfMemoryError(SvdError):
    """The GPU ran out of memory; the engine has freed what it held and is ready for the next request."""


class CancelledError(SvdError):
    """The run was cancelled on request."""


def first_line(error: BaseException) -> str:
    """The first line of an exception's text (library messages often run to several lines)."""
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]
