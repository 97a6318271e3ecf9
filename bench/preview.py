"""Time the live preview (`svd.preview`) against the denoising step it rides on, with the full-size SVD-XT
architecture and random weights (time does not depend on weight values): fitting the latent-to-RGB map from the VAE
(once per loaded model), drawing one preview from the latents (on the device, then to the CPU) and the page's GIF of
it (on the CPU, off the GPU's thread). On a GPU it also times one UNet step with guidance, which the preview is
compared with; on a CPU that step takes minutes, so it is left out unless `--step`. Median of repeats, in seconds.

    python bench/preview.py                      # 25 frames at 1024x576
    python bench/preview.py --size 256x144 --frames 4 --repeats 1
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as `python bench/preview.py`

import torch

from svd.families.svd.preview import fit_latent_preview
from svd.families.svd.tiny import ARCHITECTURES, build_random_pipeline
from svd.input.sizing import parse_size
from ui.live_preview import animated

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timer import heading, time_stage, timer_parser


def main(argv: list[str] | None = None) -> int:
    parser = timer_parser(__doc__.splitlines()[0])
    parser.add_argument("--step", action="store_true", help="time a UNet step on the CPU too (minutes)")
    parser.add_argument("--architecture", choices=ARCHITECTURES, default="svd-xt")
    args = parser.parse_args(argv)
    width, height = parse_size(args.size)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = torch.float16 if device == "cuda" else torch.float32
    pipe = build_random_pipeline(args.architecture, device=device).to(dtype)
    print(heading(width, height, args.frames, args.repeats, device))

    fitted = fit_latent_preview(pipe)
    time_stage("fit the map (once per load)", lambda: fit_latent_preview(pipe), args.repeats, 34)
    latents = torch.randn(args.frames, 4, height // 8, width // 8, device=device, dtype=dtype)
    frames = fitted.frames(latents)
    drawn = time_stage("draw one preview", lambda: fitted.frames(latents), args.repeats, 34)
    print(f"{'':<34} ({1000 * drawn:.2f} ms)")
    time_stage("its GIF for the page (CPU)", lambda: animated(frames, 7), args.repeats, 34)
    if device == "cuda" or args.step:
        step = time_stage("one UNet step with guidance", lambda: unet_step(pipe, latents), args.repeats, 34)
        print(f"a preview every 2 steps costs {100 * drawn / (2 * step):.3f} % of the denoising")
    return 0


@torch.no_grad()
def unet_step(pipe, latents: torch.Tensor) -> torch.Tensor:
    """One call of the UNet as a guided SVD step makes it: two videos (unconditional and conditional) of the frames,
    the noisy latents beside the picture's."""
    sample = torch.cat([latents, latents], dim=1)[None].repeat(2, 1, 1, 1, 1)  # (2, F, 8, h, w)
    embeddings = torch.randn(2, 1, pipe.unet.config.cross_attention_dim, device=latents.device, dtype=latents.dtype)
    added = torch.tensor([[6, 127, 0.02]] * 2, device=latents.device, dtype=latents.dtype)
    return pipe.unet(sample, 700.0, encoder_hidden_states=embeddings, added_time_ids=added).sample


if __name__ == "__main__":
    sys.exit(main())
