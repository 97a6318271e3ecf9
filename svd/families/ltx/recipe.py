"""What a loaded LTX-Video pipeline runs with besides the request: its entry's (or folder's) own call arguments, and
the two-pass path when its entry names a latent upsampler. Kept beside the pipeline, not on it, by `adapt`."""

from __future__ import annotations

from dataclasses import dataclass
from weakref import WeakKeyDictionary

from diffusers import LTXConditionPipeline

from .upsampler import TwoPass


@dataclass
class Recipe:
    arguments: dict
    """The entry's `pipeline_arguments` (a distilled model's timesteps and decode noise)."""
    two_pass: TwoPass | None = None


_RECIPES: WeakKeyDictionary[LTXConditionPipeline, Recipe] = WeakKeyDictionary()


def use_recipe(pipe: LTXConditionPipeline, recipe: Recipe) -> None:
    _RECIPES[pipe] = recipe


def recipe_of(pipe: LTXConditionPipeline) -> Recipe:
    return _RECIPES.get(pipe) or Recipe({})


def call_arguments(arguments: dict, num_steps: int) -> dict:
    """A model's own call arguments for a run of `num_steps` steps: its timesteps only if it lists that many (else
    the pipeline's own schedule of `num_steps`)."""
    chosen = {key: value for key, value in arguments.items() if key != "timesteps"}
    timesteps = arguments.get("timesteps")
    if timesteps is not None and len(timesteps) == num_steps:
        chosen["timesteps"] = list(timesteps)
    return chosen
