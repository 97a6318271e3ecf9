"""The LoRA picker: the LoRAs in the server's loras folder, each with the family it fits (read from its keys), up to
four at once, each with its strength; a line says when one does not fit the chosen model. Shown for the families
whose pipelines take LoRAs (`FamilyKind.lora_keys`); the list is read again each time it is opened, so a file copied
into the folder shows without a restart."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from svd.families.catalogue import KINDS
from svd.loras.library import listed_loras
from svd.models.entries import FamilyKind
from svd.request import LORA_STRENGTH, MAX_LORAS, LoraChoice, LoraUse
from svd.settings import Settings

from .model_family import FamilyOf

HELP = (
    "Styles, motions, characters: .safetensors LoRAs in the loras folder of the server's data folder{hub}. Each "
    "gets a strength below."
)
LORAS_CSS = "#loras .strength { min-width: 0; }"


@dataclass
class LoraPicker:
    group: gr.Group
    names: gr.Dropdown
    strengths: list[gr.Slider]
    fit: gr.Markdown
    """What does not fit the chosen model, or that the folder is empty."""

    @property
    def values(self) -> list:
        """The controls that hold the run's LoRAs (the last of the Create tab's controls)."""
        return [self.names, *self.strengths]


def lora_choices(settings: Settings) -> list[tuple[str, str]]:
    """The folder's LoRAs as (label, name): `style.safetensors · Wan`; files that are no LoRA are left out."""
    return [(f"{name} · {KINDS[family].title}", name) for name, family in listed_loras(settings.loras_dir, KINDS)
            if family is not None]  # fmt: skip


def build_loras(settings: Settings, kind: FamilyKind) -> LoraPicker:
    hub = ", or Hub names (owner/repo/file.safetensors) this server allows" if settings.hub_models else ""
    with gr.Group(visible=kind.lora_keys is not None, elem_id="loras") as group:
        names = gr.Dropdown(
            lora_choices(settings), value=[], multiselect=True, max_choices=MAX_LORAS, label="LoRAs",
            info=HELP.format(hub=hub), allow_custom_value=bool(settings.hub_models), elem_id="lora-names",
        )  # fmt: skip
        strengths = [
            gr.Slider(*LORA_STRENGTH, value=1.0, step=0.05, label="Strength", visible=False,
                      elem_id=f"lora-strength-{index}", elem_classes=["strength"])
            for index in range(MAX_LORAS)
        ]  # fmt: skip
        fit = gr.Markdown(elem_id="lora-fit")
    return LoraPicker(group, names, strengths, fit)


def fit_line(settings: Settings, names: list[str], kind: FamilyKind | None) -> str:
    """What the line under the picker says: which chosen LoRAs do not fit the model, or how to add some."""
    families = dict(listed_loras(settings.loras_dir, KINDS))
    misfits = [name for name in names if kind is not None and families.get(name) not in (None, kind.name)]
    if misfits:
        made_for = KINDS[families[misfits[0]]].title  # type: ignore[index]
        return f"⚠ {', '.join(misfits)}: made for {made_for} models, not this {kind.title} model; choose another."
    if not families:
        return "No LoRAs yet: copy .safetensors LoRAs into the loras folder of the server's data folder."
    return ""


def connect_loras(picker: LoraPicker, model: gr.Dropdown, family: FamilyOf, settings: Settings) -> None:
    """Each chosen LoRA gets a strength slider named after it; a model of another family shows or hides the picker
    and says what no longer fits; opening the list reads the folder again."""
    private = dict(api_visibility="private", show_progress="hidden")

    def follow(names: list[str] | None, value: str) -> list:
        names, kind = list(names or []), family(value)
        sliders = [gr.Slider(visible=index < len(names), label=f"Strength · {names[index]}" if index < len(names)
                             else "Strength") for index in range(MAX_LORAS)]  # fmt: skip
        takes = kind is None or kind.lora_keys is not None
        return [gr.Group(visible=takes), *sliders, fit_line(settings, names, kind) if takes else ""]

    outputs = [picker.group, *picker.strengths, picker.fit]
    picker.names.change(follow, [picker.names, model], outputs, **private)
    model.change(follow, [picker.names, model], outputs, **private)
    picker.names.focus(lambda: gr.Dropdown(choices=lora_choices(settings)), outputs=picker.names, **private)


def chosen_loras(names: list[str] | None, *strengths: float) -> tuple[LoraChoice, ...]:
    """The picker's values as the run's LoRAs, in the order chosen."""
    return tuple(LoraChoice(name, float(strength)) for name, strength in zip(names or [], strengths, strict=False))


def loras_from(record: dict, settings: Settings) -> list:
    """The picker's values that bring back `record`'s LoRAs; one no longer in the folder is left out and said."""
    uses = [LoraUse(**lora) for lora in record.get("loras") or []]
    offered = {name for _, name in lora_choices(settings)}
    kept = [use for use in uses if use.name in offered or (use.source == "hub" and settings.hub_models)]
    gone = [use.name for use in uses if use not in kept]
    if gone:
        gr.Warning(f"{', '.join(gone)} {'is' if len(gone) == 1 else 'are'} no longer in the loras folder: "
                   "the video's other settings are back without it.")  # fmt: skip
    strengths = [use.strength for use in kept] + [1.0] * (MAX_LORAS - len(kept))
    return [[use.name for use in kept], *strengths]
