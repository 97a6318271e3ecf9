"""Errors whose message is one line for the user: what went wrong and what to do about it.

The CLI prints them as `error: <message>` and exits 2; the WebUI shows the message on the page. An error may carry
its cause and its advice apart (`ModelError("svd-xt is gated", "accept its licence ...")`), so a status banner can
show them on their own lines; `str()` joins them as `cause: advice`.
"""

from __future__ import annotations

import re


class SvdError(Exception):
    """Base class: the message is complete and safe to show as is."""

    parameter: str | None = None
    """The request's parameter it is about, when it is about one (the API tells it on that parameter)."""

    def __init__(self, cause: str, advice: str | None = None):
        self.cause = cause
        self.advice = advice
        super().__init__(f"{cause}: {advice}" if advice else cause)


class InputError(SvdError):
    """A bad picture or setting. Nothing was generated."""


class ModelError(SvdError):
    """The model cannot be found, downloaded or loaded."""


class OutputError(SvdError):
    """The output folder cannot take the files (full, read-only, not a folder); nothing was left half-written."""


class OutOfMemoryError(SvdError):
    """The GPU ran out of memory; the engine has freed what it held and is ready for the next request."""


class CancelledError(SvdError):
    """The run was cancelled on request."""


_QUOTED_PATH = re.compile(r"""(['"])/(?:[^'"]*/)?([^'"/]*)\1""")
_ABSOLUTE_PATH = re.compile(r"(?<![\w.:/~])/(?:[^\s'\"()/,]+/)*([^\s'\"()/,]+)")
"""An absolute file path in a library's message, quoted (spaces and all) or bare (not a URL's path): only its last
part is kept."""


def first_line(error: BaseException) -> str:
    """The first line of an exception's text (library messages often run to several lines), with each absolute path
    in it shortened to its file name: a message reaches users, who are not told where the server keeps files."""
    text = str(error).strip() or type(error).__name__
    line = _QUOTED_PATH.sub(r"\1\2\1", text.splitlines()[0])
    return _ABSOLUTE_PATH.sub(r"\1", line)
