"""The MP4 writer and the PNG frames, checked by decoding what they wrote."""

from __future__ import annotations

import numpy as np
import pytest
from mp4 import decode, psnr
from PIL import Image

from svd.errors import OutputError
from svd.media.video import PngFolder, write_frames, write_video


def moving_frames(count=10, size=(256, 144)) -> np.ndarray:
    """A smooth gradient sliding sideways: typical, compressible video content."""
    width, height = size
    x, y = np.meshgrid(np.linspace(0, 1, width), np.linspace(0, 1, height))
    frames = [np.stack([(x + t / count) % 1, y, 1 - x], axis=2) * 255 for t in range(count)]
    return np.stack(frames).astype(np.uint8)


def test_mp4_is_h264_yuv420p_faststart_at_the_given_fps(tmp_path):
    frames = moving_frames()
    path = write_video(frames, tmp_path / "clip", fps=9, name="mp4", crf=18)
    video = decode(path)
    assert (video.codec, video.pix_fmt, video.fps, video.size) == ("h264", "yuv420p", 9.0, (256, 144))
    assert video.frames.shape == frames.shape
    assert video.top_level_boxes.index("moov") < video.top_level_boxes.index("mdat")
    assert psnr(video.frames, frames) > 30


def test_pure_colours_survive_the_round_trip(tmp_path):
    frames = np.zeros((3, 64, 128, 3), np.uint8)
    frames[:, :, :64] = (230, 40, 40)
    frames[:, :, 64:] = (30, 200, 90)
    write_video(frames, tmp_path / "colours", fps=7, name="mp4")
    decoded = decode(tmp_path / "colours.mp4").frames.astype(int)
    assert np.abs(decoded[:, 16:48, 8:56] - (230, 40, 40)).max() <= 4
    assert np.abs(decoded[:, 16:48, 72:120] - (30, 200, 90)).max() <= 4


def test_quality_setting_changes_the_file(tmp_path):
    frames = moving_frames()
    write_video(frames, tmp_path / "fine", fps=7, name="mp4", crf=12)
    write_video(frames, tmp_path / "coarse", fps=7, name="mp4", crf=40)
    assert (tmp_path / "fine.mp4").stat().st_size > 2 * (tmp_path / "coarse.mp4").stat().st_size


def test_failed_write_leaves_the_previous_file_and_no_partial(tmp_path):
    path = tmp_path / "keep.mp4"
    write_video(moving_frames(3), tmp_path / "keep", fps=7, name="mp4")
    before = path.read_bytes()
    frames = moving_frames(3)
    with pytest.raises(ValueError):
        write_video(frames.astype(np.float32), tmp_path / "keep", fps=7, name="mp4")
    with pytest.raises(OutputError, match=r"^ffmpeg could not write the mp4 video \(Error opening output files"):
        write_video(frames, tmp_path / "keep", fps=7, name="mp4", crf=-5)  # ffmpeg itself refuses it
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.mp4"]


def test_png_frames_are_lossless(tmp_path):
    frames = moving_frames(4)
    write_frames(frames, [PngFolder(tmp_path / "clip_frames")])
    names = sorted(p.name for p in (tmp_path / "clip_frames").iterdir())
    assert names == ["0000.png", "0001.png", "0002.png", "0003.png"]
    for index, name in enumerate(names):
        assert np.array_equal(np.asarray(Image.open(tmp_path / "clip_frames" / name)), frames[index])
    assert [p.name for p in tmp_path.iterdir()] == ["clip_frames"]


@pytest.mark.parametrize("fps", [42, 7, 24])
def test_a_gif_plays_at_the_rate_asked_although_its_delays_are_in_hundredths(tmp_path, fps):
    """GIF delays are whole hundredths of a second: 1/42 s is written as 20 and 30 ms in turn (not 20 ms each, which
    would play at 50 fps), so the clip lasts what its frames at `fps` last."""
    frames = np.random.default_rng(0).integers(0, 255, (fps, 48, 64, 3), dtype=np.uint8)
    with Image.open(write_video(frames, tmp_path / "clip", fps, "gif")) as gif:
        delays = []
        for index in range(gif.n_frames):
            gif.seek(index)
            delays.append(gif.info["duration"])
    assert len(delays) == fps and abs(sum(delays) - 1000) <= 10
    assert max(delays) - min(delays) <= 10  # each frame within a hundredth of 1/fps
