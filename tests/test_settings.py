"""Settings from the environment: every variable in one place, with one-line errors for bad values."""

from __future__ import annotations

from pathlib import Path

import pytest

from svd.errors import InputError
from svd.settings import Settings, read_logins


def test_defaults():
    settings = Settings.from_env({})
    assert (settings.model, settings.memory, settings.device) == ("svd-xt", "auto", "auto")
    assert (settings.host, settings.port, settings.queue_size) == ("127.0.0.1", 7860, 20)
    assert settings.output_dir == Path("outputs") and settings.models_dir == Path("models")


def test_host_and_port_from_either_convention():
    assert Settings.from_env({"HOST": "0.0.0.0", "PORT": "8080"}).port == 8080
    gradio_style = Settings.from_env({"GRADIO_SERVER_NAME": "0.0.0.0", "GRADIO_SERVER_PORT": "9000"})
    assert (gradio_style.host, gradio_style.port) == ("0.0.0.0", 9000)
    both = Settings.from_env({"PORT": "8080", "GRADIO_SERVER_PORT": "9000"})
    assert both.port == 8080
    with pytest.raises(InputError, match="PORT=eighty is not a whole number"):
        Settings.from_env({"PORT": "eighty"})


def test_logins_from_the_variable_and_a_file(tmp_path):
    logins = tmp_path / "logins.txt"
    logins.write_text("# team\nbob:builder\n\ncarol:c:with:colons\n")
    settings = Settings.from_env({"SVD_AUTH": "alice:wonderland", "SVD_AUTH_FILE": str(logins)})
    assert read_logins(settings) == [("alice", "wonderland"), ("bob", "builder"), ("carol", "c:with:colons")]
    assert read_logins(Settings.from_env({})) == []
    with pytest.raises(InputError, match="not of the form user:password"):
        read_logins(Settings.from_env({"SVD_AUTH": "alice"}))
    with pytest.raises(InputError, match="cannot be read"):
        read_logins(Settings.from_env({"SVD_AUTH_FILE": str(tmp_path / "missing.txt")}))
