"""docker top and docker stats against arcad (issue: state that survives, observability)."""
import json
import subprocess


def test_top(arcad):
    arcad.docker("run", "-d", "--name", "tp", "busybox", "sh", "-c",
                 "sleep 1000 & while true; do sleep 1; done")
    out = arcad.docker("top", "tp").stdout.splitlines()
    assert out[0].split()[:3] == ["USER", "PID", "PPID"]
    cmds = [line for line in out[1:]]
    assert any("sleep 1000" in c for c in cmds)
    assert any("sh -c sleep 1000 & while true; do sleep 1; done" in c for c in cmds)
    # Only the container's processes: not arca-init, kernel threads or ps itself.
    assert not any("[" in c.split()[-1] for c in cmds)
    assert not any("/init" in c or " ps " in c for c in cmds)
    out = arcad.docker("top", "tp", "-o", "pid,args").stdout.splitlines()
    assert out[0].split() == ["PID", "COMMAND"] and len(out) >= 3
    r = arcad.docker("top", "tp", "-o", "nosuchfield", check=False)
    assert r.returncode != 0 and "ps" in r.stderr
    arcad.docker("stop", "-t", "1", "tp")
    r = arcad.docker("top", "tp", check=False)
    assert r.returncode != 0 and "is not running" in r.stderr
    arcad.docker("rm", "tp")


def test_stats_no_stream_shows_real_memory_and_cpu(arcad):
    arcad.docker("run", "-d", "--name", "busy", "-m", "200m", "busybox", "sh", "-c",
                 "while true; do :; done")
    line = arcad.docker("stats", "--no-stream", "--format",
                        "{{.Name}} {{.CPUPerc}} {{.MemUsage}} {{.PIDs}}", "busy").stdout.split()
    name, cpu, used, _, limit, pids = line
    assert name == "busy"
    assert float(cpu.rstrip("%")) > 20  # the loop keeps its vCPU busy
    assert limit == "200MiB"  # the guest's limit is what -m gave the VM
    assert used.endswith("MiB") and 1 < float(used[:-3]) < 200
    assert pids == "1"
    arcad.docker("rm", "-f", "busy")


def test_stats_stream_and_stopped(client, arcad):
    c = client.containers.run("busybox", ["sleep", "1000"], detach=True, name="streamed")
    stream = c.stats(stream=True, decode=True)
    first, second = next(stream), next(stream)
    stream.close()
    assert second["precpu_stats"]["cpu_usage"]["total_usage"] == \
        first["cpu_stats"]["cpu_usage"]["total_usage"]
    assert second["memory_stats"]["limit"] == 1024 << 20  # the daemon's default VM memory
    assert second["pids_stats"]["current"] == 1
    assert second["name"] == "/streamed" and second["id"] == c.id
    api = client.api  # this docker-py predates the one_shot argument
    one = api._result(api._get(api._url("/containers/{0}/stats", c.id),
                               params={"stream": "false", "one-shot": "true"}), True)
    assert one["memory_stats"]["usage"] > 0
    # Usage is what the host pays for the VM (its QEMU's Pss_Anon + Pss_Shmem), the
    # guest's own figure next to it.
    pid = int(subprocess.run(["pgrep", "-f", f"qemu-system.*{c.id}"], capture_output=True,
                             text=True, check=True).stdout.split()[0])
    with open(f"/proc/{pid}/smaps_rollup") as f:
        host = sum(int(line.split()[1]) * 1024 for line in f
                   if line.startswith(("Pss_Anon:", "Pss_Shmem:")))
    mem = one["memory_stats"]
    assert 0.8 * host < mem["usage"] < 1.25 * host, (mem["usage"], host)
    assert 0 < mem["stats"]["guest_usage"] < mem["limit"], mem
    assert "inactive_file" not in mem["stats"], mem
    c.stop(timeout=1)
    stopped = c.stats(stream=False)
    assert stopped["memory_stats"] == {} and stopped["pids_stats"] == {}
    c.remove()


def test_system_df_and_rm_v(arcad):
    arcad.docker("create", "--name", "dfc", "busybox", "true")
    out = arcad.docker("system", "df", "--format", "{{json .}}").stdout.splitlines()
    rows = {json.loads(line)["Type"]: json.loads(line) for line in out}
    assert rows["Images"]["TotalCount"] == "1" and rows["Images"]["Active"] == "1"
    assert rows["Containers"]["TotalCount"] == "1"
    assert rows["Images"]["Size"] != "0B"
    assert rows["Local Volumes"]["TotalCount"] == "0"
    verbose = arcad.docker("system", "df", "-v").stdout
    assert "dfc" in verbose and "busybox" in verbose
    r = arcad.docker("system", "df", "--format", "{{json .}}", check=False)
    assert r.returncode == 0
    arcad.docker("rm", "-v", "dfc")  # no volumes to remove with it, and no error
