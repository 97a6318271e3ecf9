"""LoRAs on the tiny Wan models: the engine's frames with LoRAs equal diffusers' pipeline with the same adapters
loaded directly, changing LoRAs never reloads the model, no LoRA gives back the video from before any LoRA, a LoRA
reaches both experts of Wan 2.2 A14B, and bad files and names are one line before any model work."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import numpy as np
import pytest
import torch
from conftest import HUB, SERVED_LORA, run_svd_here
from diffusers import (
    LTXVideoTransformer3DModel,
    UniPCMultistepScheduler,
    WanImageToVideoPipeline,
    WanTransformer3DModel,
)
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError, ValidationError
from mp4 import decode
from PIL import Image
from safetensors.torch import save_file

from svd.engine import Engine
from svd.errors import InputError, ModelError
from svd.families.catalogue import CATALOGUE, KINDS
from svd.input.image import load_image
from svd.input.sizing import fit_image
from svd.loras.library import parse_loras, served
from svd.loras.tiny import save_random_lora
from svd.media.digest import file_sha256
from svd.output.sidecar import read_record, settings_of
from svd.request import GenerationRequest, LoraChoice, LoraUse
from svd.settings import Settings
from ui.loras import fit_line, lora_choices, loras_from

SMALL = dict(num_frames=5, num_inference_steps=2, seed=3, size=(64, 64), prompt="a kite")


@pytest.fixture(scope="module")
def loras(tiny_wan, tmp_path_factory, monkeypatch_module) -> dict:
    """LoRAs for the tiny Wan 2.1: `style` in a loras folder set as SVD_LORAS_DIR, `motion` elsewhere (a file the
    command line names by its path); `wide`, in the folder, for a wider Wan; and the folder."""
    folder = tmp_path_factory.mktemp("loras")
    transformer = WanTransformer3DModel.from_pretrained(tiny_wan["tiny-wan2.1"] / "transformer")
    config = dict(transformer.config)
    wider = WanTransformer3DModel.from_config({**config, "attention_head_dim": config["attention_head_dim"] * 2})
    monkeypatch_module.setenv("SVD_LORAS_DIR", str(folder))
    return {
        "folder": folder,
        "style": save_random_lora(transformer, folder / "style.safetensors", seed=1),
        "motion": save_random_lora(transformer, tmp_path_factory.mktemp("elsewhere") / "motion.safetensors", seed=2),
        "wide": save_random_lora(wider, folder / "wide.safetensors", seed=3),
    }


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(scope="module")
def engine(tiny_wan) -> Engine:
    return Engine(device="cpu", default_model=str(tiny_wan["tiny-wan2.1"]))


def make(engine: Engine, picture, *loras: LoraChoice, model=None):
    request = GenerationRequest(image=load_image(picture), model=model, loras=loras, **SMALL)  # type: ignore[arg-type]
    return engine.generate(request)


def direct_frames(folder, picture, settings, adapters: dict) -> np.ndarray:
    """diffusers' pipeline called directly with the LoRA files loaded as its documentation shows."""
    pipe = WanImageToVideoPipeline.from_pretrained(folder)
    pipe.set_progress_bar_config(disable=True)
    for name, (path, _) in adapters.items():
        pipe.load_lora_weights(str(path), adapter_name=name)
    pipe.set_adapters(list(adapters), [strength for _, strength in adapters.values()])
    frames = pipe(
        image=fit_image(Image.open(picture).convert("RGB"), (settings.width, settings.height)),
        prompt=settings.prompt, height=settings.height, width=settings.width, num_frames=settings.num_frames,
        num_inference_steps=settings.num_inference_steps, guidance_scale=settings.max_guidance_scale,
        generator=torch.Generator("cpu").manual_seed(settings.seed), output_type="np",
    ).frames[0]  # fmt: skip
    return (frames * 255).round().astype(np.uint8)


def test_loras_equal_the_pipelines_own_adapters_and_change_without_a_reload(engine, loras, tiny_wan, picture):
    plain = make(engine, picture)
    pipe = engine.loaded.pipe
    both = make(engine, picture, LoraChoice("style.safetensors", 0.8), LoraChoice(str(loras["motion"]), 1.5))
    assert not np.array_equal(both.frames, plain.frames)
    direct = direct_frames(
        tiny_wan["tiny-wan2.1"], picture, both.settings, {"a": (loras["style"], 0.8), "b": (loras["motion"], 1.5)}
    )
    assert np.abs(both.model_frames.astype(int) - direct.astype(int)).max() <= 1

    one = make(engine, picture, LoraChoice("style.safetensors", 0.8))  # motion deleted, style kept
    assert engine.loaded.pipe is pipe and "load" not in one.timings  # no reload
    assert [name for names in pipe.get_list_adapters().values() for name in names] == ["lora_" + one.settings.loras[
        0].sha256[:16]]  # fmt: skip
    assert not np.array_equal(one.frames, both.frames)

    again = make(engine, picture)
    assert np.array_equal(again.frames, plain.frames)  # every adapter removed: the network as before any LoRA
    assert not pipe.get_list_adapters() or not any(pipe.get_list_adapters().values())

    recorded = both.settings.loras
    assert [(use.name, use.source, use.strength) for use in recorded] == [
        ("style.safetensors", "folder", 0.8), (str(loras["motion"]), "file", 1.5)
    ]  # fmt: skip
    assert recorded[0].sha256 == hashlib.sha256(loras["style"].read_bytes()).hexdigest()


def test_a_lora_reaches_both_experts_of_wan_2_2_a14b(engine, loras, tiny_wan, picture, tmp_path):
    folder = tiny_wan["tiny-wan2.2-a14b"]
    transformer = WanTransformer3DModel.from_pretrained(folder / "transformer")
    lora = save_random_lora(transformer, tmp_path / "a14b.safetensors", seed=4)
    made = make(engine, picture, LoraChoice(str(lora)), model=str(folder))
    adapters = engine.loaded.pipe.get_list_adapters()
    assert adapters.keys() == {"transformer", "transformer_2"} and adapters["transformer"] == adapters["transformer_2"]
    assert made.settings.loras[0].strength == 1.0
    make(engine, picture, model=str(tiny_wan["tiny-wan2.1"]))  # the other tests' model again


def test_bad_loras_are_one_line_before_any_model_work(engine, loras, tiny_model, tiny_wan, picture, tmp_path):
    not_lora = tmp_path / "weights.safetensors"
    save_file({"blocks.0.attn1.to_q.weight": torch.zeros(2, 2)}, str(not_lora))
    broken = tmp_path / "broken.safetensors"
    broken.write_text("not a safetensors file")
    unet = tmp_path / "svd-unet.safetensors"
    save_file({"unet.down_blocks.0.attentions.0.proj_in.lora_A.weight": torch.zeros(2, 2)}, str(unet))
    cases = {
        (str(not_lora),): "weights.safetensors is not a LoRA (it holds no LoRA weights)",
        (str(broken),): "broken.safetensors cannot be read as a .safetensors file",
        (str(unet),): "svd-unet.safetensors is a LoRA for none of the Wan",
        ("missing.safetensors",): "LoRA 'missing.safetensors' is neither a file in the loras folder nor a Hub name",
        ("style.safetensors", "style.safetensors"): "LoRA style.safetensors is asked for twice",
        ("wide.safetensors",): "LoRA wide.safetensors does not fit",
    }
    for names, message in cases.items():
        with pytest.raises(InputError) as refused:
            make(engine, picture, *(LoraChoice(name) for name in names))
        assert message in str(refused.value) and "\n" not in str(refused.value)
        assert str(tmp_path) not in str(refused.value)
    with pytest.raises(InputError, match="LoRA strength 7 is out of range: use a value from -2 to 2"):
        make(engine, picture, LoraChoice("style.safetensors", 7.0))
    for_svd = GenerationRequest(image=load_image(picture), model=str(tiny_model), loras=(LoraChoice("style"),))
    with pytest.raises(InputError, match="takes no LoRAs: only Wan"):
        engine.prepare(for_svd)
    assert not any(engine.loaded.pipe.get_list_adapters().values())  # a LoRA that did not fit left nothing behind


def test_hub_loras_download_through_the_model_code(engine, loras, picture, tmp_path, hub):
    repo = tmp_path / "repo"
    (repo / "loras").mkdir(parents=True)
    (repo / "loras" / "kite.safetensors").write_bytes(loras["style"].read_bytes())
    HUB.serve("svd-tests/kite-lora", repo)
    reports = []
    asked = GenerationRequest(
        image=load_image(picture), loras=(LoraChoice("svd-tests/kite-lora/loras/kite.safetensors", 0.5),), **SMALL
    )
    made = engine.generate(asked, progress=reports.append)
    assert (made.settings.loras[0].source, made.settings.loras[0].name) == (
        "hub", "svd-tests/kite-lora/loras/kite.safetensors"
    )  # fmt: skip
    notes = [report.note for report in reports if report.stage == "downloading"]
    assert notes and notes[-1].startswith("downloading a LoRA: ")  # the run's progress says it
    assert make(engine, picture, LoraChoice("svd-tests/kite-lora", 0.5)).settings.loras[0].source == "hub"
    with pytest.raises(ModelError, match="svd-tests/no-such-lora was not found on the Hub"):
        make(engine, picture, LoraChoice("svd-tests/no-such-lora/a.safetensors"))


def test_names_the_server_takes_and_the_written_form(loras):
    assert served("style.safetensors", ()) == "style.safetensors"
    assert served("myorg/styles/a.safetensors", ("myorg/*",)) == "myorg/styles/a.safetensors"
    for name in ("../style.safetensors", str(loras["style"].parent.parent / "x.safetensors"), "/etc/passwd",
                 "myorg/styles/a.safetensors", ".hidden.safetensors"):  # fmt: skip
        with pytest.raises(InputError, match="is not available here"):
            served(name, ())
    assert parse_loras("style.safetensors:0.8, owner/repo ,") == (
        LoraChoice("style.safetensors", 0.8), LoraChoice("owner/repo", 1.0)
    )  # fmt: skip
    with pytest.raises(InputError, match="LoRA strength 'strong' is not a number"):
        parse_loras("style:strong")


def test_the_cli_takes_loras_and_the_sidecar_records_them(loras, tiny_wan, picture, tmp_path, capsys):
    code, _, err = run_svd_here(
        capsys, "generate", str(picture), "--model", str(tiny_wan["tiny-wan2.1"]), "--prompt", "a kite",
        "--frames", "5", "--steps", "2", "--size", "64x64", "--lora", "style.safetensors:0.5", "--lora",
        str(loras["motion"]), "-o", str(tmp_path / "v"),
    )  # fmt: skip
    assert code == 0, err
    recorded = json.loads((tmp_path / "v.json").read_text())["loras"]
    assert [(lora["name"], lora["source"], lora["strength"]) for lora in recorded] == [
        ("style.safetensors", "folder", 0.5), (str(loras["motion"]), "file", 1.0)
    ]  # fmt: skip
    read_back = settings_of(read_record(tmp_path / "v.json")).loras  # as History and Reuse read it
    assert read_back[1] == LoraUse(str(loras["motion"]), "file", file_sha256(loras["motion"]), 1.0)
    assert "UserWarning" not in err
    code, _, err = run_svd_here(
        capsys, "generate", str(picture), "--model", str(tiny_wan["tiny-wan2.1"]), "--lora", "style:x"
    )
    assert code == 2 and err.strip().splitlines()[-1] == (
        "error: LoRA strength 'x' is not a number: write NAME:STRENGTH, e.g. style:0.8"
    )


def test_the_api_takes_loras_by_their_names_in_the_servers_folder_only(server, picture):
    client = Client(server.url, verbose=False)
    video, _, settings = client.predict(
        handle_file(str(picture)), model="wan", prompt="a kite", frames=5, steps=2, seed=4,
        loras=f"{SERVED_LORA}:0.7", api_name="/generate",
    )  # fmt: skip
    assert [(lora["name"], lora["source"], lora["strength"]) for lora in settings["loras"]] == [
        (SERVED_LORA, "folder", 0.7)
    ]
    assert len(decode(video).frames) == 5
    refusals = (
        (dict(model="wan", loras="../loras/kite-style.safetensors"), "is not available here"),
        (dict(model="wan", loras=str(server.log.parent / "loras" / SERVED_LORA)), "is not available here"),
        (dict(model="wan", loras="someone/their-lora/a.safetensors"), "is not available here"),
        (dict(model="wan", loras=f"{SERVED_LORA}:9"), "LoRA strength 9 is out of range"),
        (dict(loras=SERVED_LORA), "takes no LoRAs: only Wan"),
    )
    for asked, said in refusals:
        with pytest.raises((AppError, ValidationError)) as refused:  # names: at once, as the call arrives
            client.predict(handle_file(str(picture)), frames=5, steps=1, api_name="/generate", **asked)
        assert said in str(refused.value)
        assert str(server.log.parent) not in str(refused.value) or str(server.log.parent) in str(asked)  # echoed


def test_ltx_takes_loras_through_the_same_stage_and_refuses_a_wan_one(tiny_ltx, loras, picture, tmp_path):
    engine = Engine(device="cpu", default_model=str(tiny_ltx))
    transformer = LTXVideoTransformer3DModel.from_pretrained(tiny_ltx / "transformer")
    lora = save_random_lora(transformer, tmp_path / "ltx-style.safetensors", seed=6)
    asked = dict(image=load_image(picture), prompt="a kite", seed=2, num_inference_steps=2)
    plain = engine.generate(GenerationRequest(**asked))
    styled = engine.generate(GenerationRequest(**asked, loras=(LoraChoice(str(lora), 0.9),)))
    assert not np.array_equal(styled.frames, plain.frames)
    assert engine.loaded.pipe.get_list_adapters() == {"transformer": ["lora_" + styled.settings.loras[0].sha256[:16]]}
    assert np.array_equal(engine.generate(GenerationRequest(**asked)).frames, plain.frames)
    with pytest.raises(InputError) as refused:
        engine.generate(GenerationRequest(**asked, loras=(LoraChoice("style.safetensors"),)))
    assert str(refused.value) == (
        "style.safetensors is a LoRA for Wan models, not for LTX-Video ones: choose a LTX-Video LoRA, or a Wan model"
    )


def test_the_pages_line_says_which_chosen_lora_does_not_fit_the_model(loras):
    settings = Settings(loras_dir=loras["folder"])
    assert [label for label, _ in lora_choices(settings)] == ["style.safetensors · Wan", "wide.safetensors · Wan"]
    assert fit_line(settings, ["style.safetensors"], KINDS["wan"]) == ""
    assert fit_line(settings, ["style.safetensors"], KINDS["ltx"]) == (
        "⚠ style.safetensors: made for Wan models, not this LTX-Video model; choose another."
    )
    assert "No LoRAs yet" in fit_line(Settings(loras_dir=loras["folder"] / "none"), [], KINDS["wan"])


@pytest.fixture(scope="module")
def fast_hub(tiny_wan, tmp_path_factory) -> dict:
    """The tiny Wan 2.1 and 2.2 A14B as the fast entries' base repositories on the test Hub, and tiny distillation
    LoRAs under the entries' own LoRA file names; returns each entry's LoRA files by entry id."""
    files = {}
    for entry_id, tiny in (("wan2.1-i2v-14b-480p-fast", "tiny-wan2.1"), ("wan2.2-i2v-a14b-fast", "tiny-wan2.2-a14b")):
        entry = CATALOGUE[entry_id]
        HUB.serve(entry.repo_id, tiny_wan[tiny])
        folder = tmp_path_factory.mktemp(entry_id)
        for seed, lora in enumerate(entry.hub_files, start=20):
            expert = WanTransformer3DModel.from_pretrained(tiny_wan[tiny] / lora.expert)
            save_random_lora(expert, folder / lora.filename, seed=seed, scale=0.5)
        HUB.serve(entry.hub_files[0].repo_id, folder)
        files[entry_id] = [(folder / lora.filename, lora.expert) for lora in entry.hub_files]
    return files


@pytest.mark.parametrize("entry_id", ["wan2.1-i2v-14b-480p-fast", "wan2.2-i2v-a14b-fast"])
def test_a_fast_entry_fuses_its_distillation_loras_and_a_request_lora_comes_off_it_again(
    engine, fast_hub, tiny_wan, picture, entry_id, loras
):
    small = dict(SMALL, num_inference_steps=None)  # the entry's own 4 steps, guidance 1, shift 5
    fast = make_with(engine, picture, model=entry_id, **small)
    settings = fast.settings
    assert (settings.num_inference_steps, settings.max_guidance_scale) == (4, 1.0)
    assert not any(engine.loaded.pipe.get_list_adapters().values())  # fused, then the adapters removed

    base = tiny_wan["tiny-wan2.1" if "2.1" in entry_id else "tiny-wan2.2-a14b"]
    pipe = WanImageToVideoPipeline.from_pretrained(base)
    pipe.set_progress_bar_config(disable=True)
    pipe.scheduler = UniPCMultistepScheduler.from_config(pipe.scheduler.config, flow_shift=5.0)
    call = dict(
        image=fit_image(Image.open(picture).convert("RGB"), (settings.width, settings.height)), prompt=settings.prompt,
        height=settings.height, width=settings.width, num_frames=settings.num_frames, num_inference_steps=4,
        guidance_scale=1.0, guidance_scale_2=1.0 if pipe.transformer_2 is not None else None, output_type="np",
    )  # fmt: skip
    undistilled = pipe(**call, generator=torch.Generator("cpu").manual_seed(settings.seed)).frames[0]
    for index, (path, expert) in enumerate(fast_hub[entry_id]):
        pipe.load_lora_weights(str(path), adapter_name=f"d{index}", load_into_transformer_2=expert == "transformer_2")
        pipe.fuse_lora(components=[expert], adapter_names=[f"d{index}"])
    pipe.unload_lora_weights()
    direct = pipe(**call, generator=torch.Generator("cpu").manual_seed(settings.seed)).frames[0]
    assert np.array_equal(fast.model_frames, (direct * 255).round().astype(np.uint8))
    assert np.abs(direct - undistilled).max() > 0.01  # the fused LoRAs changed the network

    if "2.1" in entry_id:  # a request's LoRA on the distilled network, then off: the distilled video again
        styled = make_with(engine, picture, model=entry_id, loras=(LoraChoice("style.safetensors"),), **small)
        assert not np.array_equal(styled.frames, fast.frames)
        assert np.array_equal(make_with(engine, picture, model=entry_id, **small).frames, fast.frames)


def make_with(engine: Engine, picture, **asked):
    return engine.generate(GenerationRequest(image=load_image(picture), **asked))


def test_reuse_brings_the_loras_back_and_says_which_is_gone(loras):
    settings = Settings(loras_dir=loras["folder"])
    kept = LoraUse("style.safetensors", "folder", file_sha256(loras["style"]), 0.7)
    gone = LoraUse("deleted.safetensors", "folder", "0" * 64, 1.2)
    record = {"loras": [dataclasses.asdict(kept), dataclasses.asdict(gone)]}
    with pytest.warns(UserWarning, match=r"deleted\.safetensors is no longer in the loras folder"):
        values = loras_from(record, settings)
    assert values == [["style.safetensors"], 0.7, 1.0, 1.0, 1.0]  # the picker's names, then a strength per slot
    assert loras_from({}, settings) == [[], 1.0, 1.0, 1.0, 1.0]  # a video from before LoRAs: none
