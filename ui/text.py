"""What the page says about settings and results, as Markdown."""

from __future__ import annotations

from svd.families.catalogue import KINDS
from svd.output.sidecar import finishing_of
from svd.serve.runs import InFlight

MOTION_WORDS = ((40, "almost still"), (90, "gentle"), (160, "moderate"), (210, "lively"), (255, "wild"))
EMPTY_RESULT = (
    "**Your video appears here.** Add a picture (or pick an example, or make one from text), then press "
    "**Generate**: the video plays on a loop here, with downloads of the MP4 and of its frames, and the settings it "
    "used."
)

NO_FIRST_FRAME = "no first frame yet: press Make first frames and pick one, or press Text to video"


def motion_words(motion_bucket: float) -> str:
    return next(words for limit, words in MOTION_WORDS if motion_bucket <= limit)


def length_text(motion: float | None, frames: float, fps: float) -> str:
    """The video's length, with how much motion it has (None: a model without SVD's motion setting)."""
    seconds = frames / fps if fps else 0
    motion_words_text = f"**{motion_words(motion).capitalize()}** motion · " if motion is not None else ""
    return f"{motion_words_text}{int(frames)} frames at {int(fps)} fps = **{seconds:.1f} s** of video"


def result_text(record: dict) -> str:
    """The settings, time and memory of a finished generation (from its sidecar); for a run stopped by a restart,
    that it was, and its settings."""
    if record.get("stopped"):
        return (
            f"**{record['stopped'].capitalize()}**: nothing was made, and what it cost was given back. *Reuse "
            f"settings and picture* makes it again.  \n{settings_text(record)}"
        )
    vram = record.get("peak_vram_bytes")
    vram_text = f"{vram / 1024**3:.1f} GiB" if vram else "n/a (CPU)"
    profile = record.get("memory_profile")
    placement = "on the CPU" if profile == "cpu" else f"memory profile {profile}"
    return (
        f"{settings_text(record)}{finish_text(record)}  \n"
        f"**Took** {record['timings'].get('total', 0):.1f} s · **peak VRAM** {vram_text} · model {record['model']} · "
        f"{placement} · `{record['video']}`"
    )


def settings_text(record: dict) -> str:
    """The settings a generation was asked with (from its sidecar); SVD's motion and noise only where it has them."""
    own = [f"{name} {record[key]}" for name, key in (("motion", "motion_bucket_id"), ("noise", "noise_aug_strength"))
           if record.get(key) is not None]  # fmt: skip
    kind = KINDS.get(record.get("family") or "svd")
    ramp = kind is None or "min_guidance_scale" in kind.own_settings  # else one guidance value for the video
    guidance_text = f"{record['min_guidance_scale']}→" * ramp + f"{record['max_guidance_scale']}"
    return (
        f"**Seed** {record['seed']} · {record['width']}×{record['height']} ({record['resize']}) · "
        f"{record['num_frames']} frames at {record['fps']} fps ({record['num_frames'] / record['fps']:.1f} s) · "
        f"{''.join(f'{part} · ' for part in own)}{record['num_inference_steps']} steps · guidance {guidance_text} · "
        f"decode chunk {record['decode_chunk_size']}{camera_text(record)}{prompt_text(record)}{lora_text(record)}"
    )


def camera_text(record: dict) -> str:
    """The camera move of a finished generation, if it had one (older sidecars have no camera keys)."""
    if record.get("camera") in (None, "none"):
        return ""
    strength, amount = record["camera_strength"], record["camera_amount"]
    return f" · **camera** {record['camera']} (strength {strength:g}, amount {amount:g})"


def inline(text: str | None) -> str:
    """A recorded text as one line of inline code: its spaces and line breaks collapsed, its backticks made quotes."""
    return " ".join((text or "").replace("`", "'").split())


def from_text(record: dict) -> bool:
    """Whether a generation's picture was made from text (its `prompt` is then the first frame's; otherwise, for a
    model that takes text, what the video was asked to show)."""
    return bool(record.get("prompt") and record.get("t2i_model"))


def prompt_text(record: dict) -> str:
    """What made the first frame of a text-to-video run, or the prompt a picture's video followed (a picture's run
    with a model that takes no text, and older sidecars, have no prompt)."""
    prompt = inline(record.get("prompt"))
    if not prompt:
        return ""
    shortened = prompt if len(prompt) <= 60 else prompt[:57] + "..."
    if not from_text(record):
        return f" · **prompt** `{shortened}`"
    motion = inline(record.get("motion_prompt"))[:60]
    made = f" · **from text** `{shortened}` ({record['style']}, first frame seed {record['t2i_seed']})"
    return made + (f" · **motion** `{motion}`" if motion else "")


def lora_text(record: dict) -> str:
    """The LoRAs a video was made with, each at its strength (none for most videos)."""
    loras = record.get("loras") or []
    names = [inline(lora["name"])[:60] for lora in loras]
    shown = ", ".join(f"`{name}` {lora['strength']:g}" for name, lora in zip(names, loras, strict=True))
    return f" · **LoRAs** {shown}" if loras else ""


def finish_text(record: dict) -> str:
    """How a finished video differs from what the model made (older sidecars, and unfinished videos, say nothing)."""
    steps = []
    if (record.get("extend") or 1) > 1:
        steps.append(f"{record['extend']} segments (seeds {', '.join(map(str, record['segment_seeds'] or []))})")
    if (record.get("interpolate") or 1) > 1:
        method = "RIFE" if record.get("interpolation_method") != "minterpolate" else "ffmpeg minterpolate"
        steps.append(f"×{record['interpolate']} frames ({method})")
    if record.get("upscale") not in (None, "none"):
        steps.append(f"upscaled to {record['video_width']}×{record['video_height']}")
    if record.get("loop") not in (None, "none"):
        steps.append(record["loop"])
    if record.get("finished_from"):
        steps.append(f"from `{record['finished_from'].removesuffix('.json')}`")
    if not steps:
        return ""
    seconds = record["duration_seconds"]
    shape = f"{record['video_num_frames']} frames at {record['video_fps']} fps ({seconds:.1f} s)"
    notes = "".join(f"  \n*{note}*" for note in record.get("notes") or [])
    return f" · **finished** {', '.join(steps)}: {shape}{notes}"


def caption_text(record: dict) -> str:
    """A History tile's caption, what tells videos of one picture apart first: a finished copy and its chain, a
    variation, or a video made from text; then the picture, the seed and when."""
    told = [record["stopped"]] if record.get("stopped") else []
    if record.get("finished_from"):
        chain = finishing_of(record)
        told.append(f"finished {chain}" if chain else "finished copy")
    if (record.get("variations") or 1) > 1:
        told.append(f"variation {record.get('variation', 0) + 1}/{record['variations']}")
    source = "from text" if from_text(record) else record.get("input_name", "")
    when = str(record.get("created", ""))[:16].replace("T", " ")
    return " · ".join(part for part in (*told, source, f"seed {record.get('seed')}", when) if part)


def still_going_text(runs: list[InFlight]) -> str:
    """The runs started from another page, and how far each is."""
    going = "; ".join(f"**{run.name}** ({run.doing})" for run in runs)
    return f"**Still being made** from another page: {going}. Each appears in the History when done."


def error_text(message: str, undone: str = "Not generated") -> str:
    """A failed run, shown where the result would be (not only in a toast that fades)."""
    return f"**{undone}:** {message}"
