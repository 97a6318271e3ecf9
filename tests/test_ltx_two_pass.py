"""The LTX-Video 0.9.8 distilled entries as their cards run them, on tiny random models served by the test Hub under
the entries' own repositories and file names: two passes with Lightricks' latent upsampler, whose frames equal
diffusers' documented calls (first pass to latents at 2/3 of the size, `LTXLatentUpsamplePipeline`, a second pass
from the upsampled latents, frames resized to the asked size); and the 2B model, whose transformer and VAE come
from one file in Lightricks' own layout, converted by diffusers' single-file loaders."""

from __future__ import annotations

import json
import shutil
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import HUB
from diffusers import (
    AutoencoderKLLTXVideo,
    LTXConditionPipeline,
    LTXLatentUpsamplePipeline,
    LTXVideoTransformer3DModel,
)
from diffusers.pipelines.ltx.modeling_latent_upsampler import LTXLatentUpsamplerModel
from huggingface_hub import constants
from PIL import Image
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from svd.engine import Engine
from svd.errors import CancelledError, ModelError
from svd.families.catalogue import CATALOGUE, KINDS
from svd.families.ltx.catalogue import DISTILLED, LatentUpsampler
from svd.families.ltx.tiny import save_random_model, save_random_upsampler
from svd.families.ltx.tiny_checkpoint import save_random_checkpoint
from svd.families.ltx.upsampler import load_two_pass
from svd.input.image import load_image
from svd.input.sizing import fit_image
from svd.models.entries import OriginalCheckpoint
from svd.models.single_file import load_components
from svd.request import GenerationRequest

SMALL = dict(size=(96, 64), num_frames=9, seed=5, prompt="a kite over the dunes", negative_prompt="blurry")


@pytest.fixture(scope="module")
def lightricks_hub(tiny_ltx, tmp_path_factory) -> dict:
    """The tiny LTX-Video as the 13B distilled repository, a tiny 0.9.5-layout model as LTX-Video-0.9.5's, its
    transformer and VAE as the 2B file in Lightricks' layout, and a tiny upsampler under the 0.9.8 upsampler's name."""
    big, small = CATALOGUE["ltx-0.9.8-13b-distilled"], CATALOGUE["ltx-0.9.8-2b-distilled"]
    (upsampler,) = [file for file in big.hub_files if isinstance(file, LatentUpsampler)]
    (checkpoint,) = [file for file in small.hub_files if isinstance(file, OriginalCheckpoint)]
    files = tmp_path_factory.mktemp("lightricks-files")
    save_random_upsampler(files / upsampler.filename, seed=3)
    base_095 = save_random_model("tiny-ltx-095", tmp_path_factory.mktemp("ltx-095") / "tiny-ltx-095", seed=4)
    save_random_checkpoint(base_095, files / checkpoint.filename)
    HUB.serve(big.repo_id, tiny_ltx)
    HUB.serve(small.repo_id, base_095)
    HUB.serve(upsampler.repo_id, files)
    upsampler_file, checkpoint_file = files / upsampler.filename, files / checkpoint.filename
    return {"13b": tiny_ltx, "2b": base_095, "2b-file": checkpoint_file, "upsampler": upsampler_file}


def documented_two_passes(folder, upsampler_file, picture, settings, recipe: LatentUpsampler, checkpoint=None):
    """diffusers' documented 0.9.8 distilled example, step by step, with the folder's pipeline; with a `checkpoint`,
    its transformer and VAE loaded from that file as diffusers documents single files (`from_single_file`, then
    given to `from_pretrained`)."""
    components = {}
    if checkpoint is not None:
        loaders = {"transformer": LTXVideoTransformer3DModel, "vae": AutoencoderKLLTXVideo}
        for name, loader in loaders.items():
            components[name] = loader.from_single_file(str(checkpoint), config=str(folder), subfolder=name)
    pipe = LTXConditionPipeline.from_pretrained(folder, **components)
    pipe.set_progress_bar_config(disable=True)
    with safe_open(str(upsampler_file), framework="pt") as opened:
        model = LTXLatentUpsamplerModel.from_config(json.loads(opened.metadata()["config"]))
    model.load_state_dict(load_file(str(upsampler_file)))
    upsample = LTXLatentUpsamplePipeline(vae=pipe.vae, latent_upsampler=model)
    ratio = pipe.vae_spatial_compression_ratio
    height, width = (int(side * 2 / 3) for side in (settings.height, settings.width))
    height, width = height - height % ratio, width - width % ratio
    common = dict(
        image=fit_image(Image.open(picture).convert("RGB"), (settings.width, settings.height)),
        prompt=settings.prompt, negative_prompt=settings.negative_prompt, num_frames=settings.num_frames,
        frame_rate=settings.fps, decode_timestep=0.05, decode_noise_scale=0.025, image_cond_noise_scale=0.0,
        guidance_scale=1.0, guidance_rescale=0.7,
    )  # fmt: skip
    latents = pipe(
        **common, width=width, height=height, timesteps=DISTILLED["timesteps"], output_type="latent",
        generator=torch.Generator().manual_seed(settings.seed),
    ).frames  # fmt: skip
    upscaled = upsample(
        latents=latents, adain_factor=1.0, tone_map_compression_ratio=recipe.tone_map_compression_ratio,
        output_type="latent",
    ).frames  # fmt: skip
    video = pipe(
        **common, width=width * 2, height=height * 2, denoise_strength=0.999, timesteps=[1000, 909, 725, 421, 0],
        latents=upscaled, generator=torch.Generator().manual_seed(settings.seed), output_type="pil",
    ).frames[0]  # fmt: skip
    return np.stack([np.asarray(frame.resize((settings.width, settings.height))) for frame in video])


@pytest.mark.parametrize("entry_id, key", [("ltx-0.9.8-13b-distilled", "13b"), ("ltx-0.9.8-2b-distilled", "2b")])
def test_a_distilled_entry_runs_the_cards_two_passes(lightricks_hub, picture, entry_id, key):
    engine = Engine(device="cpu", default_model=entry_id)
    result = engine.generate(GenerationRequest(image=load_image(picture), **SMALL))  # type: ignore[arg-type]
    settings = result.settings
    assert (settings.width, settings.height, settings.num_inference_steps) == (96, 64, 8)
    assert result.frames.shape == (9, 64, 96, 3)
    assert len(result.step_seconds) == 8 + 4  # the first pass's steps, then the second's (4 of its 5 timesteps)
    (recipe,) = engine.slot.loaded.source.files_of(LatentUpsampler)
    assert recipe.tone_map_compression_ratio == (0.6 if key == "13b" else 0.0)  # Lightricks' configs
    direct = documented_two_passes(
        lightricks_hub[key], lightricks_hub["upsampler"], picture, settings, recipe, lightricks_hub.get(f"{key}-file")
    )
    assert np.array_equal(result.frames, direct)
    one_pass = engine.cost(replace(settings, model=str(lightricks_hub[key])))  # the same settings, no upsampler
    two_passes = engine.cost(settings)  # 8 x (2/3)^2 + 4 x (4/3)^2 = 10.67 steps at the asked size
    assert two_passes.flops / one_pass.flops == pytest.approx(_ratio(settings), rel=1e-6)


def _ratio(settings) -> float:
    """The two passes' work over one pass's at the asked size: 8 steps at (2/3)² of the pixels and 4 at (4/3)²,
    against 8 at all of them, with the same decode and the picture's encode."""
    work = KINDS["ltx"].work
    segment = lambda steps: work.encode + settings.num_frames * (steps * work.step + work.decode)  # noqa: E731
    return segment(8 * (2 / 3) ** 2 + 4 * (4 / 3) ** 2) / segment(8)


def test_the_2b_file_gives_the_transformer_and_vae_and_their_weights_in_the_base_repository_are_not_fetched(
    lightricks_hub, picture
):
    engine = Engine(device="cpu", default_model="ltx-0.9.8-2b-distilled")
    engine.load()
    pipe = engine.slot.loaded.pipe
    own = LTXConditionPipeline.from_pretrained(lightricks_hub["2b"])
    for name in ("transformer", "vae"):
        loaded, saved = getattr(pipe, name).state_dict(), getattr(own, name).state_dict()
        assert loaded.keys() == saved.keys()
        assert all(torch.equal(loaded[key], saved[key]) for key in saved)
    snapshots = Path(constants.HF_HUB_CACHE) / "models--Lightricks--LTX-Video-0.9.5" / "snapshots"
    cached = {path.relative_to(folder).as_posix() for folder in snapshots.iterdir() for path in folder.rglob("*.*")}
    assert "text_encoder/model.safetensors" in cached and "transformer/config.json" in cached
    assert not any(name.startswith(("transformer/diffusion", "vae/diffusion")) for name in cached)


def test_an_upsampler_file_without_its_architecture_is_one_line_naming_it(tiny_ltx, tmp_path):
    bare = tmp_path / "upsampler.safetensors"
    save_file({"weight": torch.zeros(2)}, str(bare))  # no `config` metadata
    pipe = LTXConditionPipeline.from_pretrained(tiny_ltx)
    with pytest.raises(ModelError) as refused:
        load_two_pass(LatentUpsampler("someone/files", "upsampler.safetensors"), bare, pipe)
    assert "cannot load the latent upsampler upsampler.safetensors" in str(refused.value)
    assert str(tmp_path) not in str(refused.value)


def test_cancel_in_the_second_pass_stops_there_and_previews_follow_each_pass(lightricks_hub, picture):
    engine = Engine(device="cpu", default_model="ltx-0.9.8-13b-distilled")
    request = GenerationRequest(image=load_image(picture), **SMALL)  # type: ignore[arg-type]
    engine.load()
    calls = []
    handle = engine.loaded.pipe.transformer.register_forward_hook(lambda *args: calls.append(1))
    cancel, previews = threading.Event(), []

    def progress(update):
        if update.preview is not None:
            previews.append(update.preview.shape[1:3])
        if update.step >= 9:  # the first step of the second pass
            cancel.set()

    try:
        with pytest.raises(CancelledError, match="cancelled after 10 steps"):
            engine.generate(request, progress=progress, cancel=cancel, preview_every=1)
    finally:
        handle.remove()
    assert len(calls) == 10  # no step of the second pass starts after Cancel but the one running
    assert len(set(previews)) == 2 and previews[0] < previews[-1]  # the first pass's latents, then the larger ones
    assert engine.generate(request).frames.shape == (9, 64, 96, 3)  # the next request runs whole


@pytest.mark.parametrize("content", [b"not a checkpoint", None])
def test_a_checkpoint_that_is_broken_or_of_another_model_is_one_line_naming_it(lightricks_hub, tmp_path, content):
    bad = tmp_path / "ltxv-2b-0.9.8-distilled.safetensors"
    if content is None:  # a real safetensors file, but of no LTX-Video model
        save_file({"weight": torch.zeros(2)}, str(bad))
    else:
        bad.write_bytes(content)
    checkpoint = OriginalCheckpoint("someone/files", bad.name, ("transformer", "vae"))
    with pytest.raises(ModelError) as refused:
        load_components(checkpoint, bad, lightricks_hub["2b"], torch.float32)
    message = str(refused.value)
    assert message.startswith(f"cannot load the transformer of {bad.name}") and str(tmp_path) not in message


def test_a_model_whose_weights_are_broken_is_one_line_without_the_servers_paths(tiny_ltx, tmp_path):
    broken = shutil.copytree(tiny_ltx, tmp_path / "broken-ltx")
    for weights in (broken / "transformer").glob("*.safetensors"):
        weights.write_bytes(b"not weights")
    with pytest.raises(ModelError) as refused:
        Engine(device="cpu", default_model=str(broken)).load()
    message = str(refused.value)
    assert message.startswith("cannot load broken-ltx (") and "\n" not in message
    assert str(tmp_path) not in message and "/" not in message.split(":")[0]
