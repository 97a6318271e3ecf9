"""What the catalogue and the model families say about a model without loading it: its defaults, its family's
folder layout and settings, and its network's work."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TypeVar


@dataclass(frozen=True)
class NetworkWork:
    """FLOPs per pixel of a generating network, counted on its full-size architecture (bench/flops.py)."""

    step: float
    """Per pixel of each frame, each step and each element of the batch (two with guidance)."""
    decode: float
    """Per pixel of each frame, by the VAE's decoder."""
    encode: float = 0.0
    """Per pixel of the picture, by the VAE's encoder (once per segment)."""


DEFAULTS_FILE = "svd_defaults.json"
"""Optional file in a model folder that states the model's defaults (the tiny model writes one)."""


WEIGHTS = ("*/*.safetensors", "*/*.safetensors.index.json")
"""The weight files of a repository's components (`*` the component's folder)."""

REPOSITORY_FILES = ("model_index.json", "*/config.json", *WEIGHTS, "tokenizer/*", "scheduler/*", DEFAULTS_FILE)
"""What a load needs of a repository that holds one set of weights (no variants): the flow-matching families'."""


def without_weights_of(files: Sequence[str], components: Sequence[str], replaced: Sequence[str]) -> tuple[str, ...]:
    """`files` (allow patterns) with the weights of the `replaced` components left out: those of the others named."""
    kept = [component for component in components if component not in replaced]
    named = [pattern.replace("*", component, 1) for pattern in WEIGHTS for component in kept]
    return (*[pattern for pattern in files if pattern not in WEIGHTS], *named)


@dataclass(frozen=True)
class ModelDefaults:
    """What a model was trained for; a request that leaves a setting out gets these."""

    width: int = 1024
    height: int = 576
    size_multiple: int = 64
    num_frames: int = 25
    fps: int = 7
    motion_bucket_id: int = 127
    noise_aug_strength: float = 0.02
    num_inference_steps: int = 25
    min_guidance_scale: float = 1.0
    max_guidance_scale: float = 3.0
    max_steps: int = 200
    """The most denoising steps the model's sampler takes."""
    notice: str | None = None
    family: str = "svd"
    """Which family's pipeline runs it (`svd.families`): `svd`, `wan` or `ltx`."""
    frame_step: int = 1
    """Frame counts the model takes are 1 + a multiple of this (4 for Wan: its VAE packs 4 frames a latent)."""
    last_frame: str = "no"
    """Whether its pipeline ends the video on a given last frame: `no`, `optional` (Wan 2.2 A14B, LTX-Video) or
    `required` (Wan 2.1 FLF2V, whose image embedding takes the two pictures' tokens together)."""
    guidance_scale_2: float | None = None
    """For a model with two experts (Wan 2.2 A14B): the low-noise expert's guidance (the other's is the max)."""
    flow_shift: float | None = None
    """For a flow-matching model: the shift of its noise schedule, set on its scheduler."""
    full_min_gib: float = 18.0
    """GPU memory the `auto` profile needs before it picks `full` for this model (SVD-XT's measured need)."""
    balanced_min_gib: float = 10.0
    """Likewise for `balanced`; below it, `low`."""
    pipeline_arguments: dict = field(default_factory=dict, hash=False)
    """Arguments of the family's pipeline call that the model's card gives beside the settings (for LTX-Video's
    distilled models: their own timesteps and decode noise); the family reads them."""

    def profile_needs(self) -> tuple[int, int]:
        """`full_min` and `balanced_min` of `svd.models.memory.choose_profile`, in bytes."""
        return int(self.full_min_gib * 1024**3), int(self.balanced_min_gib * 1024**3)

    @classmethod
    def from_dict(cls, values: dict) -> ModelDefaults:
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in values.items() if key in known})


@dataclass(frozen=True)
class HubFile:
    """One file of a Hub repository that a catalogue entry adds to its base model's repository; each kind of it is
    read by the family that knows it."""

    repo_id: str
    filename: str

    def work_steps(self, steps: float) -> float:
        """How many steps at the asked size a run of `steps` steps costs with this file (most change nothing)."""
        return steps


@dataclass(frozen=True)
class DistilledUNet(HubFile):
    """A UNet distilled from the base model's: the same architecture with other weights, in one file on the Hub,
    sampled with the consistency sampler (`svd.families.svd.consistency`) instead of the base model's."""


@dataclass(frozen=True)
class FusedLora(HubFile):
    """A LoRA fused into the base model's network as it loads (a step-distillation LoRA: the entry is then a faster
    model), into the denoiser `expert` names (`transformer`, or `transformer_2` for Wan 2.2's low-noise expert)."""

    expert: str = "transformer"


@dataclass(frozen=True)
class OriginalCheckpoint(HubFile):
    """One file in its authors' own layout that holds some of the pipeline's `components` (LTX-Video's transformer
    and VAE, say), which diffusers' single-file loaders convert; the base repository gives the other components and
    the configs of these, and its weights of these are not downloaded."""

    components: tuple[str, ...] = ()


H = TypeVar("H", bound=HubFile)


@dataclass(frozen=True)
class CatalogueEntry:
    id: str
    repo_id: str
    """The model's repository (for a Turbo entry, every component but the UNet comes from it)."""
    title: str
    defaults: ModelDefaults
    hub_files: tuple[HubFile, ...] = ()
    """Files from other repositories that a load of it needs besides its own (a Turbo UNet, fused LoRAs...)."""
    facts: str = ""
    """What the page and the docs say of it: licence, whether it is gated, download size, memory, speed."""


@dataclass(frozen=True)
class FamilyKind:
    """What is known of a family without loading anything: how its folders look and what its requests take."""

    name: str
    title: str
    class_names: tuple[str, ...]
    """The `_class_name`s its folders' model_index.json give (a repo may name a pipeline class it shares)."""
    components: tuple[str, ...]
    """The component folders every model of it has."""
    files: tuple[str, ...]
    """The files of one of its repositories that a load needs (`allow_patterns` of the download)."""
    work: NetworkWork
    """Its network's FLOPs, for the cost of a request."""
    folder_defaults: Callable[[Path], ModelDefaults]
    """The defaults of one of its model folders that states none, from its configs."""
    takes_text: bool = False
    """Whether its pipeline takes a prompt that describes the video."""
    own_settings: tuple[str, ...] = ()
    """The request's settings only this family takes (refused for the others)."""
    lora_keys: str | None = None
    """A regular expression that some key of a LoRA for its network matches (None: its pipeline takes no LoRAs)."""


@dataclass(frozen=True)
class ModelSource:
    """A resolved model name: either a Hub repository to fetch, or a folder on disk."""

    name: str
    repo_id: str | None = None
    path: Path | None = None
    defaults: ModelDefaults = field(default_factory=ModelDefaults)
    hub_files: tuple[HubFile, ...] = ()
    """The files from other repositories that a load of it needs besides its own repository's."""

    def work_steps(self, steps: int) -> float:
        """The steps at the asked size that a run of `steps` steps of it costs as much as (`svd.cost`)."""
        work = float(steps)
        for file in self.hub_files:
            work = file.work_steps(work)
        return work

    def files_of(self, kind: type[H]) -> tuple[H, ...]:
        """Its files of one kind (`DistilledUNet`, `FusedLora`...)."""
        return tuple(file for file in self.hub_files if isinstance(file, kind))

    @property
    def is_local(self) -> bool:
        return self.path is not None

    @property
    def shown(self) -> str:
        """The name as the page and its status show it: a local folder by its own name, not the server's path."""
        return self.path.name if self.path is not None else self.name
