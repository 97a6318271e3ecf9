"""The formats a video is written in, each by the bundled ffmpeg: H.264 MP4 (always), WebM (VP9), GIF (one palette
made for the clip, at most GIF_MAX_WIDTH wide) and animated WebP."""

from __future__ import annotations

GIF_MAX_WIDTH = 640
"""GIFs are big: wider clips are scaled down to this (Lanczos), keeping their aspect."""

_TO_BT709 = (
    "scale=out_color_matrix=bt709:out_range=tv,"
    "setparams=colorspace=bt709:color_primaries=bt709:color_trc=bt709:range=tv"
)
"""Convert with the BT.709 matrix and say so in the stream, so browsers show the colours that were generated."""

_OTHER_OPTIONS = {
    "webm": ["-c:v", "libvpx-vp9", "-crf", "32", "-b:v", "0", "-row-mt", "1", "-pix_fmt", "yuv420p"],
    "gif": [
        "-vf",
        f"scale='min({GIF_MAX_WIDTH},iw)':-2:flags=lanczos,split[a][b];[a]palettegen=stats_mode=diff[p];"
        "[b][p]paletteuse=dither=sierra2_4a",
        "-loop", "0",
    ],
    "webp": ["-c:v", "libwebp_anim", "-quality", "85", "-loop", "0", "-pix_fmt", "yuv420p"],
}  # fmt: skip
"""VP9 at constant quality 32 (visually close to the MP4); GIF with a palette fitted to the clip's motion; WebP lossy
at quality 85. GIF and WebP loop forever, as clips shared as pictures are expected to."""


def output_options(name: str, crf: int) -> list[str]:
    """ffmpeg's output options for format `name` (mp4, webm, gif or webp); `crf` is the MP4's quality."""
    if name == "mp4":
        return [
            "-an", "-c:v", "libx264", "-crf", str(crf), "-preset", "medium", "-vf", _TO_BT709, "-pix_fmt", "yuv420p",
            "-movflags", "+faststart", "-f", "mp4",
        ]  # fmt: skip
    return ["-an", *_OTHER_OPTIONS[name], "-f", name]
