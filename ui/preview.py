"""What the model will see: the picture fitted to the chosen size, and a line that says the size and the fit."""

from __future__ import annotations

from PIL import Image

from svd.engine import Engine
from svd.errors import SvdError
from svd.models import served_model_name
from svd.settings import Settings
from svd.sizing import choose_size, fit_image, parse_size

from .generation import uploaded_picture


def preview(
    engine: Engine, settings: Settings, picture: dict | None, size: str, resize: str, model: str
) -> tuple[Image.Image | None, str]:
    try:
        image = uploaded_picture(picture)
        if image is None:
            return None, ""
        defaults = engine.source(served_model_name(model or "", settings.model, settings.models_dir)).defaults
        chosen = choose_size(image.size, defaults, parse_size(size))
        fitted = fit_image(image.image, chosen, resize)  # type: ignore[arg-type]
    except SvdError as error:
        return None, f"**Cannot use this:** {error}"
    return fitted, f"The model will see **{chosen[0]}×{chosen[1]}** ({resize}, from {image.size[0]}×{image.size[1]})."
