"""Parallel clients against arcad, with a kill -9 of the daemon in the middle.

Each client loops: create, start, exec, logs, remove, through docker-py's low-level
API. An HTTP error answer is a failed request. A connection the daemon drops (it is
being killed and restarted) is retried once it is back: those are not answers. After
the run every container a client created and did not remove must still be there.
Used by tests/integration/test_stress.py (short) and bench/stress.py (the full run).
"""
import threading
import time

import docker
import requests


class Client(threading.Thread):
    def __init__(self, base_url, index, deadline):
        super().__init__(daemon=True)
        self.api = docker.APIClient(base_url=base_url, version="1.43", timeout=300)
        self.index = index
        self.deadline = deadline
        self.ok = 0
        self.failures = []
        self.alive = set()  # created (201 seen) and not removed (204 seen)
        self.loops = 0

    def call(self, fn, *args, **kw):
        retried = False
        while True:
            try:
                r = fn(*args, **kw)
                self.ok += 1
                return r
            except docker.errors.APIError as e:
                # Asked again after the daemon died under the first attempt, which may
                # have happened: "already gone" or "already done" is that, not a failure.
                code = e.response.status_code if e.response is not None else 0
                if not (retried and code in (404, 409)):
                    self.failures.append(f"{fn.__name__}: {e}")
                raise
            except (requests.exceptions.ConnectionError, ConnectionError):
                retried = True
                time.sleep(0.5)  # the daemon is restarting: ask again

    def run(self):
        while time.time() < self.deadline:
            try:
                c = self.call(self.api.create_container, "busybox",
                              ["sh", "-c", f"echo client {self.index}; sleep 600"],
                              host_config=self.api.create_host_config(mem_limit="128m"))
                cid = c["Id"]
                self.alive.add(cid)
                self.call(self.api.start, cid)
                e = self.call(self.api.exec_create, cid, ["sh", "-c", "exit 3"])
                self.call(self.api.exec_start, e["Id"])
                # (The exit code, not the output: docker-py reads an exec's output from
                # the raw socket after http.client has buffered it, and loses the bytes
                # that came with the response head when the command is quick.)
                code = self.call(self.api.exec_inspect, e["Id"])["ExitCode"]
                if code != 3:
                    self.failures.append(f"exec exit code {code}")
                self.call(self.api.logs, cid)
                self.call(self.api.remove_container, cid, force=True)
                self.alive.discard(cid)
                self.loops += 1
            except docker.errors.APIError:
                time.sleep(0.2)


def run_stress(daemon, clients, seconds, kill_at=None):
    """Returns (requests answered, failures, loops, lost records)."""
    deadline = time.time() + seconds
    threads = [Client(daemon.env["DOCKER_HOST"], i, deadline) for i in range(clients)]
    for t in threads:
        t.start()
    if kill_at is not None:
        time.sleep(kill_at)
        daemon.restart(hard=True)
    for t in threads:
        t.join(timeout=seconds + 600)
    api = docker.APIClient(base_url=daemon.env["DOCKER_HOST"], version="1.43")
    present = {c["Id"] for c in api.containers(all=True)}
    expected = set().union(*(t.alive for t in threads))
    lost = expected - present
    for cid in present:
        api.remove_container(cid, force=True)
    return (sum(t.ok for t in threads), [f for t in threads for f in t.failures],
            sum(t.loops for t in threads), lost)
