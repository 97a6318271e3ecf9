"""What the stage timers in bench/ share: their common arguments, a median of repeats, and one line per stage."""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from collections.abc import Callable

import torch


def timer_parser(description: str, repeats: int = 3) -> argparse.ArgumentParser:
    """A parser with the size, the frame count and the repeats (25 frames at 1024x576 unless told)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--size", default="1024x576")
    parser.add_argument("--frames", type=int, default=25)
    parser.add_argument("--repeats", type=int, default=repeats)
    return parser


def heading(width: int, height: int, frames: int, repeats: int, device: str = "cpu") -> str:
    return f"{width}x{height}, {frames} frames, {device}, {torch.get_num_threads()} torch threads; median of {repeats}"


def time_stage(name: str, job: Callable[[], object], repeats: int, width: int = 20) -> float:
    """Run `job` `repeats` times, print its median (and range) as one line, and return the median. What a run leaves
    going in the background (a `threading.Event` it returns) ends before the next run starts, untimed; work queued
    on a GPU is waited for, timed."""
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        left = job()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        seconds.append(time.perf_counter() - started)
        if isinstance(left, threading.Event):
            left.wait()
    median = statistics.median(seconds)
    print(f"{name:<{width}} {median:7.2f} s  (min {min(seconds):.2f}, max {max(seconds):.2f})")
    return median
