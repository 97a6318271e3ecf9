"""Time the CPU work between the VAE decode and the video on the page, with no model: the decoded frames turned into
pictures (the pipeline's own post-processing), then the saving that the page waits for (the MP4, the poster, the
input picture, the sidecar), and apart from it the zip of the model's frames that the page leaves to a
background thread. Median of repeats, in seconds.

    python bench/after_pipeline.py                    # 25 frames at 1024x576
    python bench/after_pipeline.py --size 256x144 --frames 4 --repeats 1
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as `python bench/after_pipeline.py`

import numpy as np
import torch
from diffusers.video_processor import VideoProcessor

from svd.input.image import load_image
from svd.input.sizing import parse_size
from svd.media.video import write_png_zip
from svd.output.store import save_generation
from svd.request import GenerationSettings
from svd.results import GenerationResult

sys.path.insert(0, str(Path(__file__).resolve().parent))
from finish import panning_clip
from timer import heading, time_stage, timer_parser

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "astronaut.jpg"


def decoded_video(width: int, height: int, count: int) -> torch.Tensor:
    """What the pipeline's `decode_latents` returns, (1, 3, F, H, W) floats in [-1, 1], for a clip that pans across
    the example picture (a real picture: the MP4 encoder's time depends on the content)."""
    clip = torch.from_numpy(panning_clip(width, height, count)).float() / 127.5 - 1
    return clip.permute(3, 0, 1, 2)[None]


def result_for(frames: np.ndarray, width: int, height: int) -> GenerationResult:
    settings = GenerationSettings(
        model="bench", seed=0, width=width, height=height, num_frames=len(frames), fps=7, motion_bucket_id=127,
        noise_aug_strength=0.02, num_inference_steps=25, min_guidance_scale=1.0, max_guidance_scale=3.0,
        decode_chunk_size=8, memory_profile="full", resize="crop", size_choice="auto",
    )  # fmt: skip
    timings = {"pipeline": 0.0}
    picture = load_image(EXAMPLE)
    return GenerationResult(frames, settings, picture, timings, [], None, None, "cuda", "float16", model_frames=frames)


def main(argv: list[str] | None = None) -> int:
    args = timer_parser(__doc__.splitlines()[0], repeats=5).parse_args(argv)
    width, height = parse_size(args.size) or (1024, 576)
    decoded = decoded_video(width, height, args.frames)
    processor = VideoProcessor(do_resize=True, vae_scale_factor=8)

    def to_pictures() -> np.ndarray:  # as svd.families.svd.animate does it, on the CPU here
        pixels = processor.postprocess_video(video=decoded, output_type="pt")[0]
        return (pixels * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()

    frames = to_pictures()
    result = result_for(frames, width, height)
    with tempfile.TemporaryDirectory() as folder:
        counter = iter(range(10**6))

        def saved():
            stem = Path(folder) / f"video-{next(counter)}"
            return save_generation(result, stem, frames_later=True).frames_written

        stages = {
            "post-process": to_pictures,
            "save for the page": saved,
            "frames zip (after)": lambda: write_png_zip(frames, Path(folder) / f"frames-{next(counter)}.zip"),
        }
        print(heading(width, height, args.frames, args.repeats))
        medians = {name: time_stage(name, job, args.repeats) for name, job in stages.items()}
        to_page = medians["post-process"] + medians["save for the page"]
        before = to_page + medians["frames zip (after)"]
        print(f"{'to the page':<20} {to_page:7.2f} s  (post-process and save; {before:.2f} s when the zip came first)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
