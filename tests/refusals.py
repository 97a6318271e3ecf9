"""How an API client sees a refused call: one line that names the problem. A call refused when it arrives (Gradio's
validator, before it waits for a GPU) comes back as gradio_client's ValidationError, whose one line is the message on
the parameter at fault; a call refused when it runs comes back as an AppError of that one line."""

from __future__ import annotations

import pytest
from gradio_client.exceptions import ValidationError


def refused(client, *args, api_name: str = "/generate", **kwargs) -> str:
    """The one-line message of a call that is refused."""
    with pytest.raises(Exception) as raised:  # gradio_client raises AppError or ValidationError, plain Exceptions
        client.predict(*args, api_name=api_name, **kwargs)
    message = str(raised.value)
    if isinstance(raised.value, ValidationError):
        header, *lines = message.splitlines()
        assert header == "1 parameter(s) failed validation:" and len(lines) == 1, message
        message = lines[0].split(": ", 1)[1]
    assert "\n" not in message and "Traceback" not in message, message
    return message


def refused_at_once(client, parameter: str, *args, api_name: str = "/generate", **kwargs) -> str:
    """The message of a call refused as it arrives, on `parameter`, without waiting for a GPU."""
    with pytest.raises(ValidationError) as raised:
        client.predict(*args, api_name=api_name, **kwargs)
    lines = str(raised.value).splitlines()
    assert len(lines) == 2 and lines[1].startswith(f"- {parameter}: "), lines
    return lines[1].removeprefix(f"- {parameter}: ")
