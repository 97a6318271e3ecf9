"""Time a running WebUI under concurrent API clients: N `/generate` requests at once, each a short video of the
example picture, and the wall time until the last one is back; every video is checked to be there.

    python bench/serving.py http://127.0.0.1:7860 --requests 8 --frames 4 --steps 4
    python bench/serving.py http://127.0.0.1:7860 --auth root:toor

Compare a server with one engine (SVD_DEVICES=cuda:0), with several (SVD_GPUS=all), and one sending its videos to a
Ray cluster (SVD_RAY_ADDRESS): the model and settings are the same, only where the videos are made differs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from gradio_client import Client, handle_file

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "astronaut.jpg"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--requests", type=int, default=8)
    parser.add_argument("--frames", type=int, default=4)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--size", default="auto")
    parser.add_argument("--auth", help="user:password, when the server has logins")
    args = parser.parse_args(argv)
    auth = tuple(args.auth.split(":", 1)) if args.auth else None

    def one(seed: int) -> tuple[float, str]:
        client = Client(args.url, auth=auth, verbose=False)
        started = time.perf_counter()
        video, _, settings = client.predict(
            handle_file(str(EXAMPLE)), frames=args.frames, steps=args.steps, seed=seed, size=args.size,
            api_name="/generate",
        )  # fmt: skip
        if not Path(video).is_file():
            raise SystemExit(f"request {seed}: no video came back")
        return time.perf_counter() - started, settings["worker"]

    started = time.perf_counter()
    with ThreadPoolExecutor(args.requests) as clients:
        answers = list(clients.map(one, range(args.requests)))
    wall = time.perf_counter() - started
    latencies = [seconds for seconds, _ in answers]
    workers = sorted({worker for _, worker in answers})
    print(f"{args.requests} concurrent requests, {args.frames} frames, {args.steps} steps: all {len(answers)} back")
    median, slowest = statistics.median(latencies), max(latencies)
    print(f"wall time {wall:.1f} s; per request median {median:.1f} s, max {slowest:.1f} s")
    print(f"made by {len(workers)} engines: {', '.join(workers)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
