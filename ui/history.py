"""The History tab: every video in the output folder as a gallery of poster frames, newest first. Picking one shows
it with its settings, and offers to reuse them (with its picture, and the text that made it, if it did), to finish
it (interpolate, upscale, loop, more formats: it goes to the Create tab's result area, with the Finish section open),
to download it, and to delete it (after asking).
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from svd.engine import Engine
from svd.output.history import delete_generation, list_history, output_file
from svd.settings import Settings

from .create import CreateTab, keep_in_view
from .result import shown_record
from .reuse import controls_from
from .text import caption_text, result_text
from .text_source import text_from

SCROLL_TO_FINISH = "() => document.querySelector('#finish')?.scrollIntoView({behavior: 'smooth', block: 'start'})"
"""After "Finish this video…", the Create tab opens where the choices are (on a phone, far down the page)."""
EMPTY = "**No videos yet.** The ones you make appear here, newest first, and stay across restarts."


@dataclass
class HistoryTab:
    tab: gr.Tab
    refresh: gr.Button
    gallery: gr.Gallery
    records: gr.State
    empty: gr.Markdown


def build_history(engine: Engine, settings: Settings, create: CreateTab, tabs: gr.Tabs) -> HistoryTab:
    output_dir = settings.output_dir
    with gr.Tab("History", id="history") as tab:
        with gr.Row(equal_height=True):
            gr.Markdown("The videos made here, newest first. Pick one to watch it, reuse its settings, or delete it.")
            refresh = gr.Button("Refresh", scale=0, min_width=100, elem_id="history-refresh")
        empty = gr.Markdown(EMPTY, visible=False, elem_id="history-empty")
        gallery = gr.Gallery(
            show_label=False, columns=4, height="auto", object_fit="cover", allow_preview=False, fit_columns=False,
            buttons=[], interactive=False, elem_id="history-gallery",
        )  # fmt: skip
        records = gr.State([])
        selected = gr.State(None)
        detail = _build_detail()

    def refreshed(request: gr.Request):
        listed = list_history(output_dir, request.username, settings.admins)
        items = [(str(_poster(output_dir, record)), caption_text(record)) for record in listed]
        return items, listed, gr.Markdown(visible=not listed)

    def pick(listed: list[dict], event: gr.SelectData):
        record = listed[event.index]
        video = output_file(output_dir, record, "video")  # none for a run stopped by a restart
        path = str(video) if video else None
        download = gr.DownloadButton(value=path, visible=video is not None)
        hidden_confirm = gr.Group(visible=False)
        return (
            gr.Row(visible=True),
            gr.Video(value=path, visible=video is not None),
            result_text(record),
            download,
            gr.Button(visible=video is not None),
            record,
            hidden_confirm,
        )

    def reused(record: dict | None):
        picture = output_file(output_dir, record, "input_picture") if record else None
        if record is not None and picture is None:
            gr.Warning("This video's picture is not in the output folder any more: only its settings are reused.")
        values = controls_from(engine, settings, record)
        text = text_from(record if picture else None, create.styles)
        return [
            str(picture) if picture else gr.skip(),
            *values,
            *text,
            gr.Tabs(selected="create") if record else gr.skip(),
        ]

    def to_finish(record: dict | None):
        if record is None or output_file(output_dir, record, "video") is None:
            gr.Warning("This video is not in the output folder any more.")
            return [gr.skip()] * (len(create.result.outputs) + 2)
        gr.Info("Choose how to finish it in Finish, then press Finish this video.")
        return [*shown_record(record, output_dir), gr.Accordion(open=True), gr.Tabs(selected="create")]

    def deleted(record: dict | None, request: gr.Request):
        if record is not None:  # one the user was shown: theirs
            delete_generation(output_dir, record)
        return gr.Row(visible=False), gr.Group(visible=False), None, *refreshed(request)

    private = dict(api_visibility="private")
    listing = [gallery, records, empty]
    for event in (tab.select, refresh.click, *(run.success for run in create.runs)):
        event(refreshed, outputs=listing, show_progress="hidden", **private)
    shown = [detail.row, detail.video, detail.info, detail.download, detail.finish, selected, detail.confirm]
    picked = gallery.select(pick, records, shown, **private)
    picked.then(None, js=keep_in_view("#history-video", block="start"), **private)  # below the gallery: to it
    detail.reuse.click(reused, selected, [create.picture, *create.controls, *create.text, tabs], **private)
    to_create = [*create.result.outputs, create.finish.accordion, tabs]
    finishing = detail.finish.click(to_finish, selected, to_create, **private)
    finishing.then(None, js=SCROLL_TO_FINISH, **private)
    detail.delete.click(lambda: gr.Group(visible=True), outputs=detail.confirm, **private)
    detail.keep.click(lambda: gr.Group(visible=False), outputs=detail.confirm, **private)
    detail.really.click(deleted, selected, [detail.row, detail.confirm, selected, *listing], **private)
    return HistoryTab(tab=tab, refresh=refresh, gallery=gallery, records=records, empty=empty)


@dataclass
class HistoryDetail:
    """The video picked in the History, its settings and what can be done with it."""

    row: gr.Row
    video: gr.Video
    info: gr.Markdown
    reuse: gr.Button
    finish: gr.Button
    download: gr.DownloadButton
    delete: gr.Button
    confirm: gr.Group
    """Asks before Delete removes anything."""
    really: gr.Button
    keep: gr.Button


def _build_detail() -> HistoryDetail:
    with gr.Row(visible=False, elem_id="history-detail") as row:
        with gr.Column(scale=2, min_width=300):
            video = gr.Video(show_label=False, autoplay=True, loop=True, interactive=False, elem_id="history-video")
        with gr.Column(scale=1, min_width=260):
            info = gr.Markdown(elem_id="history-info")
            reuse = gr.Button("Reuse settings and picture", variant="primary", elem_id="history-reuse")
            finish = gr.Button("Finish this video…", elem_id="history-finish")
            download = gr.DownloadButton("Download MP4", elem_id="history-download")
            delete = gr.Button("Delete…", variant="stop", elem_id="history-delete")
            with gr.Group(visible=False, elem_id="history-confirm") as confirm:
                gr.Markdown("Delete this video, its settings, its frames and its input picture for good?")
                with gr.Row():
                    really = gr.Button("Delete", variant="stop", elem_id="history-really-delete")
                    keep = gr.Button("Keep", elem_id="history-keep")
    return HistoryDetail(row, video, info, reuse, finish, download, delete, confirm, really, keep)


def _poster(output_dir, record: dict):
    """The poster frame, or the video itself for generations saved before posters were made; the picture of a run
    stopped by a restart."""
    return next(filter(None, (output_file(output_dir, record, key) for key in ("poster", "video", "input_picture"))))
