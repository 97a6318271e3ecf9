"""The camera in the WebUI: a move through `/generate` to the video, its sidecar and Reuse; and the looping previews
of the moves that the page shows, made from the user's picture (in-process, with the tiny models)."""

from __future__ import annotations

import json

import numpy as np
from conftest import as_upload, write_picture
from gradio_client import Client, handle_file
from mp4 import decode
from PIL import Image, ImageSequence

from svd.camera.moves import MOVES
from svd.engine import Engine
from svd.settings import Settings
from ui.camera_previews import NO_PICTURE, CameraPreviews, Tiles
from ui.reuse import controls_from


def frames(image: Image.Image) -> list[bytes]:
    return [frame.convert("RGB").tobytes() for frame in ImageSequence.Iterator(image)]


def test_a_camera_move_reaches_the_video_and_its_sidecar_and_comes_back_on_reuse(
    server, engine, tiny_model, tiny_depth_model, tmp_path
):
    client = Client(server.url, verbose=False)
    picture = write_picture(tmp_path / "pan.png", (256, 144))
    video, _, record = client.predict(
        handle_file(str(picture)), frames=3, steps=1, camera="pan-left", api_name="/generate"
    )
    assert decode(video).frames.shape == (3, 144, 256, 3)
    sidecar = json.loads((server.output_dir / record["video"].replace(".mp4", ".json")).read_text())
    camera = ("camera", "camera_strength", "camera_amount", "depth_model")
    assert [sidecar[key] for key in camera] == ["pan-left", MOVES["pan-left"].strength, 1.0, None]
    _, _, orbit = client.predict(
        handle_file(str(picture)), frames=2, steps=1, camera="orbit-right", camera_strength=0.3, camera_amount=2,
        api_name="/generate",
    )  # fmt: skip
    assert [orbit[key] for key in camera] == ["orbit-right", 0.3, 2.0, str(tiny_depth_model)]
    assert "camera_depth" in orbit["timings"]

    settings = Settings(model=str(tiny_model))
    assert controls_from(engine, settings, record)[16:19] == ["pan-left", MOVES["pan-left"].strength, 1.0]
    older = {key: value for key, value in record.items() if not key.startswith("camera")}
    assert controls_from(engine, settings, older)[16:19] == ["none", 0.0, 1.0]  # from before camera moves


def test_camera_previews_are_looping_guides_of_the_picture_as_the_run_frames_it(
    tiny_model, tiny_depth_model, tmp_path
):
    picture = write_picture(tmp_path / "wide.png", (640, 360))
    payload = as_upload(picture)
    engine = Engine(device="cpu", default_model=str(tiny_model), default_depth_model=str(tiny_depth_model))
    previews = CameraPreviews(engine, Settings(model=str(tiny_model)))

    first = previews.tiles(payload, "auto", "crop", "", frames=8, fps=7, amount=1.0, with_depth=False)
    captions = [caption for _, caption in first.items]
    assert captions[:3] == ["None (free)", "Locked", "Pan left"] and len(captions) == len(MOVES)
    still = {caption: path for path, caption in first.items}
    assert still["Orbit left"] == still["None (free)"] and "orbit previews follow" in first.message  # depth next

    second = previews.tiles(payload, "auto", "crop", "", frames=8, fps=7, amount=1.0, with_depth=True)
    assert second.message == ""
    files = {caption: Image.open(path) for path, caption in second.items}
    assert {image.size for image in files.values()} == {(160, 90)}  # the 256×144 frame, 160 px wide
    assert files["None (free)"].n_frames == 1
    assert all(files[caption].n_frames == 8 for caption in ("Pan left", "Zoom in", "Orbit left", "Shake"))
    assert frames(files["Pan left"]) != frames(files["Zoom in"])
    assert frames(files["Orbit left"]) != frames(files["Orbit right"])
    files["Pan left"].seek(7)
    last = np.asarray(files["Pan left"].convert("RGB"), dtype=float)
    fitted = np.asarray(Image.open(picture).convert("RGB").resize((160, 90)), dtype=float)
    # The scene slid right; the strip it uncovered at the left edge is greyed, the rest keeps the picture's colours.
    assert np.abs(last[:, :8] - 128).mean() < 0.6 * np.abs(fitted[:, :8] - 128).mean()
    assert np.abs(last[:, -40:] - 128).mean() > 0.8 * np.abs(fitted[:, -40:] - 128).mean()

    square = previews.tiles(payload, "192x192", "pad", "", frames=25, fps=7, amount=2.0, with_depth=False)
    pan = Image.open(square.items[2][0])
    assert (pan.size, pan.n_frames) == ((160, 160), 16)  # the size and fit chosen; a long run in fewer frames


def test_camera_previews_fail_softly(tiny_model, tmp_path):
    no_depth = Engine(device="cpu", default_model=str(tiny_model), default_depth_model=str(tmp_path / "missing"))
    previews = CameraPreviews(no_depth, Settings(model=str(tiny_model)))
    picture = write_picture(tmp_path / "p.png", (256, 144))
    tiles = previews.tiles(as_upload(picture), "auto", "crop", "", 8, 7, 1.0, with_depth=True)
    assert tiles.message.startswith("*No preview of Orbit left, Orbit right: unknown depth model")
    assert Image.open(tiles.items[2][0]).n_frames == 8  # the other moves are there

    assert previews.tiles(None, "auto", "crop", "", 8, 7, 1.0, with_depth=False) == Tiles(None, NO_PICTURE)
    text = tmp_path / "notes.png"
    text.write_text("not a picture")
    broken = previews.tiles(as_upload(text), "auto", "crop", "", 8, 7, 1.0, with_depth=False)
    assert broken.items is None and broken.message.startswith("*No camera previews: notes.png is not a picture")
