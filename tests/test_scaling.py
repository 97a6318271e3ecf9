"""Many GPUs and many users, for real on a CPU: two engines on two CPU "devices" serving concurrent API clients, a
daily allowance per user in SQLite (concurrent takes, restarts, refunds, the refusal, the page's count), a CLI batch
spread over the engines, and a local Ray cluster with two CPU replicas behind the WebUI, one of which dies."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import re
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import ray
from chromium import LAPTOP
from conftest import HUB, run_svd_here, write_picture
from gradio_client import Client, handle_file
from mounts import tmpfs
from mp4 import decode
from playwright.sync_api import expect
from refusals import refused
from webui_server import free_port, health, start_server

from svd.cli.main import main as svd_main
from svd.errors import InputError
from svd.output.history import list_history
from svd.serve.pool import EnginePool, pool_devices
from svd.serve.quota import DailyQuota
from svd.settings import Settings

LOGINS = "alice:wonder,bob:builder,carol:cats,dave:dots,erin:eels,frank:fish,root:toor"
RUN = dict(frames=2, steps=1)
WAN_HUB = "svd-tests/tiny-wan"
"""The tiny Wan 2.1 on the test Hub (`wan_on_the_hub`), a Hub id these servers allow (SVD_HUB_MODELS)."""
WAN_RUN = dict(model=WAN_HUB, prompt="the kite climbs", frames=5, steps=2)


@pytest.fixture(scope="module")
def wan_on_the_hub(tiny_wan) -> str:
    HUB.serve(WAN_HUB, tiny_wan["tiny-wan2.1"])
    return WAN_HUB


def test_the_allowance_never_overspends_under_concurrent_takes_and_survives_a_restart(tmp_path):
    quota = DailyQuota(tmp_path / "quota.sqlite", limit=5, admins=("root",))
    outcomes: list[bool] = []

    def take() -> None:
        try:
            quota.take("alice", 1)
            outcomes.append(True)
        except InputError:
            outcomes.append(False)

    threads = [threading.Thread(target=take) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count(True) == 5 and quota.left("alice") == 0
    with pytest.raises(InputError, match=r"0 of 5 videos left today, and this costs 0.1 .*: ask for less"):
        quota.take("alice", 0.01)  # any work costs at least a tenth
    again = DailyQuota(tmp_path / "quota.sqlite", limit=5)  # a restarted server reads the same counts
    assert again.left("alice") == 0 and again.left("bob") == 5
    taken = again.take("bob", 3.25)  # tenths, rounded up: 3.3
    assert again.left("bob") == 1.7
    again.give_back(taken)  # a run that made nothing
    assert again.left("bob") == 5
    assert quota.take("root", 100) is None and quota.left("root") is None  # admins have no limit
    with pytest.raises(InputError, match=r"5 of 5 videos left today, and this costs 5.1"):
        again.check("bob", 5.1)  # refused without taking anything
    assert again.left("bob") == 5


def test_devices_come_from_the_settings():
    assert pool_devices(Settings(devices=("cpu", "cpu"))) == ["cpu", "cpu"]
    assert pool_devices(Settings(device="cpu")) == ["cpu"]
    pool = EnginePool.from_settings(Settings(devices=("cpu", "cpu")))
    assert [engine.worker for engine in pool.engines] == ["0", "1"] and pool.size == 2
    order: list[str] = []

    def borrow_the_first() -> None:
        with pool.engine(index=0):
            order.append("second")

    with pool.engine(index=0):
        waiting = threading.Thread(target=borrow_the_first)
        with pool.engine() as other:
            assert other.worker == "1" and pool.busy == 2
        waiting.start()
        time.sleep(0.2)
        order.append("first")  # engine 0 is still lent: the second borrower waits for it
    waiting.join(5)
    assert order == ["first", "second"] and pool.busy == 0


def test_a_cli_batch_spreads_over_the_engines(tiny_model, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SVD_DEVICES", "cpu,cpu")
    pictures = [write_picture(tmp_path / "in" / f"p{index}.png", (256, 144)) for index in range(4)]
    code, printed, errors = run_svd_here(
        capsys, "generate", *map(str, pictures), "-o", str(tmp_path / "out"), "--model", str(tiny_model),
        "--frames", "2", "--steps", "1",
    )  # fmt: skip
    assert code == 0, errors
    records = [json.loads(path.read_text()) for path in (tmp_path / "out").glob("*.json")]
    assert len(records) == 4 and len(printed.split()) == 4
    assert {record["worker"] for record in records} == {"0", "1"}


@pytest.fixture(scope="module", autouse=True)
def starting(request, tiny_model, tmp_path_factory):
    """What this module's slow fixtures start, started in the background as the module starts, each only when a test
    to run needs it: the WebUI of `two_engines` and the Ray cluster's head of `ray_cluster`. Each start is seconds of
    imports on one core, so on two cores they overlap each other and the tests before them instead of following them.
    Stopped when the module ends: the WebUI, and the cluster with `ray stop`."""
    needed = {name for item in request.session.items if item.module is request.module for name in item.fixturenames}
    folder = tmp_path_factory.mktemp("two-engines")
    ray_command = str(Path(sys.executable).parent / "ray")
    with ThreadPoolExecutor(2) as background:
        started = {}
        if "two_engines" in needed:
            text, rife, upscaler = (
                str(request.getfixturevalue(name)) for name in ("tiny_text_model", "tiny_rife", "tiny_upscaler")
            )
            started["two_engines"] = background.submit(
                start_server, folder, SVD_MODEL=str(tiny_model), SVD_DEVICES="cpu,cpu", SVD_AUTH=LOGINS,
                SVD_DAILY_QUOTA="2", SVD_ADMINS="root", SVD_QUOTA_DB=str(folder / "quota.sqlite"),
                SVD_T2I_MODEL=text, SVD_INTERPOLATOR=rife, SVD_UPSCALER=upscaler, SVD_HUB_MODELS="svd-tests/*",
            )  # fmt: skip
        if "ray_cluster" in needed:
            started["ray head"] = background.submit(start_ray_head, ray_command)
        try:
            yield started
        finally:
            if "two_engines" in started and started["two_engines"].exception() is None:
                started["two_engines"].result().stop()
            if "ray head" in started:
                started["ray head"].exception()  # started, or failed to
                ray.shutdown()
                stop_ray_in_the_background(ray_command)


@pytest.fixture(scope="module")
def two_engines(starting):
    """`webui.py` with two engines on two CPU devices, logins and a daily allowance of 2 (root: none); Hub ids under
    svd-tests/ may be asked for (the test Hub has none of those asked for here). Started by `starting`."""
    running = starting["two_engines"].result()
    running.wait_for_model()
    return running


def left_today(server, user: str) -> float:
    """What `user` has left today, read from the server's own quota database."""
    return DailyQuota(server.log.parent / "quota.sqlite", limit=2).left(user)


def test_ten_concurrent_clients_on_two_engines_all_get_their_videos(two_engines, tmp_path):
    assert health(two_engines.url)["gpus"] == 2
    picture = write_picture(tmp_path / "p.png", (256, 144))

    def one(index: int) -> dict:
        client = Client(two_engines.url, auth=("root", "toor"), verbose=False)
        video, _, settings = client.predict(handle_file(str(picture)), seed=index, **RUN, api_name="/generate")
        assert decode(video).frames.shape == (2, 144, 256, 3)
        return settings

    with ThreadPoolExecutor(10) as clients:
        made = list(clients.map(one, range(10)))
    assert sorted(record["seed"] for record in made) == list(range(10))
    assert {record["worker"] for record in made} == {"0", "1"}  # both engines worked
    saved = {record["sidecar"] for record in list_history(two_engines.output_dir)}
    assert {record["sidecar"] for record in made} <= saved  # none lost


def test_every_piece_of_work_is_paid_in_units_before_it_starts(two_engines, wan_on_the_hub, tmp_path):
    picture = handle_file(str(write_picture(tmp_path / "p.png", (256, 144))))
    alice = Client(two_engines.url, auth=("alice", "wonder"), verbose=False)
    with pytest.raises(Exception, match="was not found on the Hub"):  # a failed run gives its units back
        alice.predict(picture, model="svd-tests/no-such-model", **RUN, api_name="/generate")
    assert left_today(two_engines, "alice") == 2
    record = alice.predict(picture, api_name="/generate")[2]  # a video at the server model's own settings
    assert record["cost_units"] == 1 and left_today(two_engines, "alice") == 1
    spent = "your daily allowance is spent: 1 of 2 videos left today, and this costs"
    assert refused(alice, picture, extend=2).startswith(f"{spent} 2 ")  # two segments: two videos' work
    assert refused(alice, picture, variations=2).startswith(f"{spent} 2 ")
    finished = alice.predict(record["sidecar"], interpolate=2, loop="boomerang", api_name="/finish")[2]
    _, details = alice.predict("a lighthouse", count=2, api_name="/first_frames")
    assert 0 < finished["cost_units"] < 1 and 0 < details["cost_units"] < 1
    assert left_today(two_engines, "alice") == pytest.approx(1 - finished["cost_units"] - details["cost_units"])

    carol = Client(two_engines.url, auth=("carol", "cats"), verbose=False)
    carol_video = carol.predict(picture, variations=2, api_name="/generate")[2]  # all of her allowance
    assert carol_video["cost_units"] == 2 and left_today(two_engines, "carol") == 0
    offset, videos = len(two_engines.log.read_text()), len(list_history(two_engines.output_dir))
    spent = "your daily allowance is spent: 0 of 2 videos left today, and this costs"
    assert refused(carol, "a lighthouse", api_name="/first_frames").startswith(spent)
    assert refused(carol, carol_video["sidecar"], loop="boomerang", api_name="/finish").startswith(spent)
    assert refused(carol, "a lighthouse", **RUN, api_name="/text_to_video").startswith(spent)
    assert "first frame(s)" not in two_engines.log_since(offset)  # refused before the text-to-image model ran
    assert len(list_history(two_engines.output_dir)) == videos

    frank = Client(two_engines.url, auth=("frank", "fish"), verbose=False)  # a Wan model pays the same way
    wan = frank.predict(picture, **WAN_RUN, api_name="/generate")[2]
    assert wan["family"] == "wan" and 0 < wan["cost_units"] < 2
    again = frank.predict(wan["sidecar"], interpolate=2, api_name="/finish")[2]  # Finish this video, for Wan too
    assert again["family"] == "wan" and again["video_num_frames"] == 9
    assert left_today(two_engines, "frank") == pytest.approx(2 - wan["cost_units"] - again["cost_units"])


def test_with_logins_a_users_videos_are_their_own(two_engines, tmp_path):
    picture = handle_file(str(write_picture(tmp_path / "p.png", (256, 144))))
    bob = Client(two_engines.url, auth=("bob", "builder"), verbose=False)
    made = bob.predict(picture, **RUN, api_name="/generate")[2]
    assert made["owner"] == "bob"
    alice = Client(two_engines.url, auth=("alice", "wonder"), verbose=False)
    stem = made["sidecar"].removesuffix(".json")
    assert refused(alice, made["sidecar"], interpolate=2, api_name="/finish") == (
        f"there is no video {stem} here: pick one from the history"  # the same as for a video that is not there
    )
    seen = {user: {record["sidecar"] for record in list_history(two_engines.output_dir, user, ("root",))}
            for user in ("alice", "bob", "root")}  # fmt: skip
    assert made["sidecar"] in seen["bob"] and made["sidecar"] in seen["root"] and made["sidecar"] not in seen["alice"]


def test_work_past_the_limits_is_refused_before_it_starts_with_the_largest_allowed(two_engines, tmp_path):
    """The hostile request of the security review (before, memory grew by 6 GB and another user waited a minute),
    and a video finished again and again (before, 897 frames at 896 fps): from the model's frames it never grows, and
    an older video that kept none is finished on top of its finishing, within the limits."""
    picture = handle_file(str(write_picture(tmp_path / "p.png", (256, 144))))
    root = Client(two_engines.url, auth=("root", "toor"), verbose=False)  # an admin: no allowance stops it
    started = time.monotonic()
    message = refused(root, picture, variations=8, extend=4, interpolate=4, upscale="4k", formats="webm,gif,webp")
    assert re.fullmatch(
        r"this asks for [\d.]+ videos' work \(.*\); one request may ask for at most 16 \(SVD_MAX_WORK\): "
        r"ask for fewer variations, segments, frames or steps, or less finishing",
        message,
    )
    assert time.monotonic() - started < 10 and health(two_engines.url)["busy"] == 0
    record = root.predict(picture, **RUN, api_name="/generate")[2]
    for _ in range(2):
        record = root.predict(record["sidecar"], interpolate=4, api_name="/finish")[2]
        assert (record["video_num_frames"], record["video_fps"]) == (5, 28)
    older = json.loads((two_engines.output_dir / record["sidecar"]).read_text())
    del older["model_frames"], older["model_num_frames"]
    (two_engines.output_dir / "20261205-000000-older.json").write_text(json.dumps(older))
    record = root.predict("20261205-000000-older.json", interpolate=4, api_name="/finish")[2]
    assert (record["video_num_frames"], record["video_fps"]) == (17, 112)
    assert refused(root, record["sidecar"], interpolate=4, api_name="/finish") == (
        "the video would play at 448 fps; a video may play at most 120 fps (SVD_MAX_FPS): interpolate less or lower "
        "the fps"
    )
    assert record["sidecar"].count("finished") == 1  # finishing again never lengthens the name


def test_a_save_that_fails_gives_the_units_back(two_engines, tmp_path):
    picture = handle_file(str(write_picture(tmp_path / "p.png", (256, 144))))
    dave = Client(two_engines.url, auth=("dave", "dots"), verbose=False)
    with tmpfs(two_engines.output_dir, size_kb=100 * 1024) as outputs:
        job = dave.submit(picture, frames=2, steps=38, api_name="/generate")  # seconds of denoising, 2 units
        wait_until(lambda: health(two_engines.url)["busy"] == 1)
        subprocess.run(["mount", "-o", "remount,ro", str(outputs)], check=True)  # the folder turns read-only
        with pytest.raises(Exception, match=r"the output folder cannot be written \(Read-only file system\)"):
            job.result(timeout=120)
        subprocess.run(["mount", "-o", "remount,rw", str(outputs)], check=True)
    assert left_today(two_engines, "dave") == 2


def test_a_cancel_while_the_video_is_written_stops_at_once_saves_nothing_and_gives_the_units_back(
    two_engines, tmp_path
):
    """Cancel lands after the last denoising step, while an upscaled boomerang is written in four formats."""
    picture = handle_file(str(write_picture(tmp_path / "p.png", (256, 144))))
    erin = Client(two_engines.url, auth=("erin", "eels"), verbose=False)
    before = {path.name for path in two_engines.output_dir.iterdir()}
    job = erin.submit(
        picture, **RUN, interpolate=4, upscale="4", loop="boomerang", formats="webm,gif,webp", api_name="/generate"
    )
    partial = wait_until(lambda: [path for path in two_engines.output_dir.iterdir() if ".partial" in path.name])
    assert partial, "the video was never being written"
    assert job.cancel()
    cancelled = time.monotonic()
    wait_until(lambda: health(two_engines.url)["busy"] == 0)
    assert time.monotonic() - cancelled < 5  # the engine is free within seconds
    time.sleep(1)
    assert {path.name for path in two_engines.output_dir.iterdir()} == before  # nothing saved, nothing half-written
    assert not list((two_engines.output_dir / ".runs").iterdir())  # nor listed as stopped at the next start
    assert left_today(two_engines, "erin") == 2


def wait_until(condition, timeout: float = 60):
    """Poll `condition` until it is true (returning its value), or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise TimeoutError(f"not so after {timeout} s")


def test_the_page_says_how_many_videos_are_left_today(two_engines, browser):
    context = browser.new_context(viewport=LAPTOP)
    try:
        page = context.new_page()
        page.goto(two_engines.url)
        page.get_by_label("username").fill("bob")
        page.get_by_label("password").fill("builder")
        page.get_by_role("button", name="Login").click()
        left = re.compile(r"[\d.]+ of 2 videos left today")
        expect(page.locator("#allowance")).to_contain_text(left, timeout=30_000)
    finally:
        context.close()


def start_ray_head(ray_command: str) -> str:
    """`ray start --head` on free ports: a local Ray cluster of this machine only, with 4 CPUs; returns its address."""
    port = free_port()
    started = subprocess.run(
        [ray_command, "start", "--head", "--port", str(port), "--num-cpus", "4", "--include-dashboard=false",
         "--disable-usage-stats", "--ray-client-server-port", str(free_port())],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert started.returncode == 0, started.stderr[-2000:]
    return f"127.0.0.1:{port}"


def stop_ray_in_the_background(ray_command: str) -> None:
    """`ray stop`, which waits seconds for the processes it kills to go: no later test uses Ray, so none waits for it
    (the test process waits for it before it exits)."""
    stop = [ray_command, "stop", "--force", "--grace-period", "2"]
    threading.Thread(target=subprocess.run, args=(stop,), kwargs=dict(capture_output=True, timeout=120)).start()


@pytest.fixture(scope="module")
def ray_cluster(starting, tiny_model):
    """A local Ray cluster (its head only, started by `starting`) with the deployment of two CPU replicas of the tiny
    model, deployed by `python -m svd ray-serve` run in this process (without an interpreter's start-up: seconds on
    two cores), which stays the cluster's driver for the test."""
    address = starting["ray head"].result()
    code, errors = svd_here(
        "ray-serve", "--address", address, "--replicas", "2", "--num-gpus", "0", "--model", str(tiny_model)
    )
    assert code == 0, errors[-2000:]
    assert "2 replicas are ready" in errors
    return address


def svd_here(*args: str) -> tuple[int, str]:
    """`python -m svd ARGS` in this process, as `run_svd_here` runs it, for a fixture (which has no capsys): its exit
    code and what it wrote to stderr."""
    logger = logging.getLogger("svd")
    saved = (logger.handlers[:], logger.level, logger.propagate)
    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors):
            code = svd_main(list(args))
    finally:
        logger.handlers[:], logger.level, logger.propagate = saved
    return code, errors.getvalue()


def test_the_webui_sends_its_videos_to_ray_replicas_and_survives_one_dying(
    ray_cluster, tiny_model, wan_on_the_hub, tmp_path
):
    server = start_server(tmp_path, SVD_MODEL=str(tiny_model), SVD_RAY_ADDRESS=ray_cluster, SVD_HUB_MODELS=WAN_HUB)
    try:
        server.wait_for_model()
        assert health(server.url)["gpus"] == 2
        picture = write_picture(tmp_path / "p.png", (256, 144))

        def one(seed: int) -> dict:
            client = Client(server.url, verbose=False)
            video, _, settings = client.predict(handle_file(str(picture)), seed=seed, **RUN, api_name="/generate")
            assert decode(video).frames.shape == (2, 144, 256, 3)  # the frames came back through Ray
            return settings

        with ThreadPoolExecutor(4) as clients:
            made = list(clients.map(one, range(4)))
        workers = {record["worker"] for record in made}
        assert len(workers) == 2 and all(worker.startswith("ray:") for worker in workers)
        assert len(list_history(server.output_dir)) == 4  # saved on the WebUI's machine
        wan = Client(server.url, verbose=False).predict(handle_file(str(picture)), **WAN_RUN, api_name="/generate")[2]
        assert wan["family"] == "wan" and wan["worker"].startswith("ray:")  # a replica loads a Wan model too

        outcomes: list[str] = []

        def long_run(seed: int) -> None:
            client = Client(server.url, verbose=False)
            try:
                client.predict(handle_file(str(picture)), frames=6, steps=15, seed=seed, api_name="/generate")
                outcomes.append("made")
            except Exception as error:
                outcomes.append(str(error))

        running = [threading.Thread(target=long_run, args=(seed,)) for seed in (7, 8)]
        for thread in running:
            thread.start()
        wait_until(lambda: health(server.url)["busy"] == 2)  # both sent to Ray...
        time.sleep(1)  # ...and under way on the two replicas (a replica takes one at a time)
        ray.init(address=ray_cluster, ignore_reinit_error=True)
        replicas = [actor for actor in ray.util.list_named_actors(all_namespaces=True)
                    if actor["name"].startswith("SERVE_REPLICA::")]  # fmt: skip
        ray.kill(ray.get_actor(replicas[0]["name"], namespace=replicas[0]["namespace"]), no_restart=False)
        for thread in running:
            thread.join(90)
        assert not any(thread.is_alive() for thread in running)  # an answer for each, not a hang
        assert sorted(outcomes)[0] == "made" and len(outcomes) == 2
        failed = sorted(outcomes)[1]
        assert "the Ray replica making this video stopped" in failed and "Ray replaces a replica that dies" in failed
        deadline = time.monotonic() + 30
        names = set()
        while time.monotonic() < deadline:  # Ray puts a new replica in the dead one's place
            names = {actor["name"] for actor in ray.util.list_named_actors(all_namespaces=True)}
            if len({name for name in names if name.startswith("SERVE_REPLICA::")} - {replicas[0]["name"]}) == 2:
                break
            time.sleep(0.5)
        assert replicas[0]["name"] not in names and len([name for name in names if "SERVE_REPLICA" in name]) == 2
    finally:
        server.stop()
