"""Many GPUs and many users, for real on a CPU: two engines on two CPU "devices" serving concurrent API clients, a
daily allowance per user in SQLite (concurrent takes, restarts, refunds, the refusal, the page's count), a CLI batch
spread over the engines, and a local Ray cluster with two CPU replicas behind the WebUI, one of which dies."""

from __future__ import annotations

import json
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
from conftest import REPO_ROOT, run_svd_here, write_picture
from gradio_client import Client, handle_file
from mp4 import decode
from playwright.sync_api import expect
from webui_server import free_port, health, start_server

from svd.errors import InputError
from svd.history import list_history
from svd.pool import EnginePool, pool_devices
from svd.quota import DailyQuota
from svd.settings import Settings

LOGINS = "alice:wonder,bob:builder,root:toor"
RUN = dict(frames=2, steps=1)


def test_the_allowance_never_overspends_under_concurrent_takes_and_survives_a_restart(tmp_path):
    quota = DailyQuota(tmp_path / "quota.sqlite", limit=5, admins=("root",))
    outcomes: list[bool] = []

    def take() -> None:
        try:
            quota.take("alice")
            outcomes.append(True)
        except InputError:
            outcomes.append(False)

    threads = [threading.Thread(target=take) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count(True) == 5 and quota.left("alice") == 0
    with pytest.raises(InputError, match=r"0 of 5 videos left today, and this asks for a video: ask for fewer"):
        quota.take("alice")
    again = DailyQuota(tmp_path / "quota.sqlite", limit=5)  # a restarted server reads the same counts
    assert again.left("alice") == 0 and again.left("bob") == 5
    taken = again.take("bob", videos=3)
    again.give_back(taken)  # a run that made nothing
    assert again.left("bob") == 5
    assert quota.take("root", videos=100) is None and quota.left("root") is None  # admins have no limit
    with pytest.raises(InputError, match="asks for 6 videos"):
        again.take("bob", videos=6)


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


@pytest.fixture(scope="module")
def two_engines(tiny_model, tmp_path_factory):
    """`webui.py` with two engines on two CPU devices, logins and a daily allowance of 2 (root: none)."""
    folder = tmp_path_factory.mktemp("two-engines")
    running = start_server(
        folder, SVD_MODEL=str(tiny_model), SVD_DEVICES="cpu,cpu", SVD_AUTH=LOGINS, SVD_DAILY_QUOTA="2",
        SVD_ADMINS="root", SVD_QUOTA_DB=str(folder / "quota.sqlite"),
    )  # fmt: skip
    running.wait_for_model()
    yield running
    running.stop()


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


def test_over_the_allowance_a_request_is_refused_before_any_gpu_work(two_engines, tmp_path):
    picture = write_picture(tmp_path / "p.png", (256, 144))
    alice = Client(two_engines.url, auth=("alice", "wonder"), verbose=False)
    with pytest.raises(Exception, match="was not found on the Hub"):  # a failed run gives its unit back
        alice.predict(handle_file(str(picture)), model="svd-tests/no-such-model", **RUN, api_name="/generate")
    with pytest.raises(Exception, match=r"2 of 2 videos left today, and this asks for 3 videos"):
        alice.predict(handle_file(str(picture)), variations=3, **RUN, api_name="/generate")
    alice.predict(handle_file(str(picture)), variations=2, **RUN, api_name="/generate")
    with pytest.raises(Exception, match=r"your daily allowance is spent: 0 of 2 videos left today"):
        alice.predict(handle_file(str(picture)), **RUN, api_name="/generate")
    bob = Client(two_engines.url, auth=("bob", "builder"), verbose=False)
    assert bob.predict(handle_file(str(picture)), **RUN, api_name="/generate")[2]["seed"] >= 0  # bob's own count


def test_the_page_says_how_many_videos_are_left_today(two_engines, browser):
    context = browser.new_context(viewport=LAPTOP)
    try:
        page = context.new_page()
        page.goto(two_engines.url)
        page.get_by_label("username").fill("bob")
        page.get_by_label("password").fill("builder")
        page.get_by_role("button", name="Login").click()
        expect(page.locator("#allowance")).to_contain_text(re.compile(r"\d of 2 videos left today"), timeout=30_000)
    finally:
        context.close()


@pytest.fixture(scope="module")
def ray_cluster(tiny_model, tmp_path_factory):
    """A local Ray cluster (its head only) with the deployment of two CPU replicas of the tiny model."""
    ray_command = str(Path(sys.executable).parent / "ray")
    port = free_port()
    address = f"127.0.0.1:{port}"
    started = subprocess.run(
        [ray_command, "start", "--head", "--port", str(port), "--num-cpus", "4", "--include-dashboard=false",
         "--disable-usage-stats", "--ray-client-server-port", str(free_port())],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert started.returncode == 0, started.stderr[-2000:]
    try:
        deployed = subprocess.run(
            [sys.executable, "-m", "svd", "ray-serve", "--address", address, "--replicas", "2", "--num-gpus", "0",
             "--model", str(tiny_model)],
            cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert deployed.returncode == 0, deployed.stderr[-2000:]
        assert "2 replicas are ready" in deployed.stderr
        yield address
    finally:
        ray.shutdown()
        subprocess.run([ray_command, "stop", "--force", "--grace-period", "2"], capture_output=True, timeout=120)


def test_the_webui_sends_its_videos_to_ray_replicas_and_survives_one_dying(ray_cluster, tiny_model, tmp_path):
    server = start_server(tmp_path, SVD_MODEL=str(tiny_model), SVD_RAY_ADDRESS=ray_cluster)
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

        outcomes: list[str] = []

        def long_run(seed: int) -> None:
            client = Client(server.url, verbose=False)
            try:
                client.predict(handle_file(str(picture)), frames=6, steps=30, seed=seed, api_name="/generate")
                outcomes.append("made")
            except Exception as error:
                outcomes.append(str(error))

        running = [threading.Thread(target=long_run, args=(seed,)) for seed in (7, 8)]
        for thread in running:
            thread.start()
        time.sleep(3)  # both replicas are under way
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
