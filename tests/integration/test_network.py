"""Container networking (issue 12), through the docker CLI, against an arcad that
runs in a network namespace of its own (daemon.py). Traffic stays in that
namespace and in the client namespaces these tests make."""
import json
import os
import subprocess
import time
import uuid

import pytest

HTTPD = "mkdir -p /www && echo \"$MSG\" > /www/index.html && exec httpd -f -p 80 -h /www"


def _udp_echo():
    path = os.path.join(os.environ.get("ARCA_BUILD_DIR", os.path.join(
        os.path.dirname(__file__), "..", "..", "build")), "tests/unit/udp-echo")
    with open(path, "rb") as f:
        return f.read()


@pytest.fixture
def outside(arcad):
    """A second namespace, the outside world: a veth to the daemon's namespace, where the
    daemon's side has 10.200.0.1 (a non-loopback address of the host) and it 10.200.0.2."""
    name = f"arca-c{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    host_if, peer = f"vo{name[-6:]}", f"vp{name[-6:]}"
    try:
        subprocess.run(["ip", "link", "add", host_if, "type", "veth", "peer", "name", peer],
                       check=True)
        subprocess.run(["ip", "link", "set", host_if, "netns", arcad.netns], check=True)
        subprocess.run(["ip", "link", "set", peer, "netns", name], check=True)
        arcad.ns(["ip", "addr", "add", "10.200.0.1/24", "dev", host_if])
        arcad.ns(["ip", "link", "set", host_if, "up"])
        for cmd in (["ip", "addr", "add", "10.200.0.2/24", "dev", peer],
                    ["ip", "link", "set", peer, "up"], ["ip", "link", "set", "lo", "up"],
                    ["ip", "route", "add", "default", "via", "10.200.0.1"]):
            subprocess.run(["ip", "netns", "exec", name, *cmd], check=True)

        def run(argv, **kw):
            kw.setdefault("capture_output", True)
            kw.setdefault("text", True)
            return subprocess.run(["ip", "netns", "exec", name, *argv], **kw)
        run.name = name
        yield run
    finally:
        subprocess.run(["ip", "netns", "delete", name], check=False)


def _links(arcad):
    out = arcad.ns(["ip", "-o", "link", "show"]).stdout
    return sorted(l.split(":")[1].strip().split("@")[0] for l in out.splitlines())


def _ip(arcad, name, network):
    return arcad.docker("inspect", "-f", "{{(index .NetworkSettings.Networks \"%s\").IPAddress}}"
                        % network, name).stdout.strip()


def _curl(run, url):
    return run(["curl", "-s", "-m", "10", url]).stdout


def test_loopback_is_up_with_network_none(arcad):
    out = arcad.docker("run", "--rm", "--network", "none", "busybox", "sh", "-c",
                       "ip -o link; ping -c1 -W2 127.0.0.1 >/dev/null && echo ping-ok; "
                       "cat /proc/sys/net/ipv4/ip_unprivileged_port_start "
                       "/proc/sys/net/ipv4/ping_group_range").stdout
    assert "lo:" in out and "UP" in out and "eth0" not in out, out
    assert "ping-ok" in out and "\n0\n" in out and "2147483647" in out, out


def test_published_ports_from_loopback_a_host_address_and_outside(arcad, outside):
    arcad.docker("run", "-d", "--name", "web", "-e", "MSG=hello-published", "-p", "8080:80",
                 "busybox", "sh", "-c", HTTPD)
    time.sleep(1)
    assert _curl(arcad.ns, "http://127.0.0.1:8080/") == "hello-published\n"  # the proxy
    assert _curl(arcad.ns, "http://10.200.0.1:8080/") == "hello-published\n"  # output DNAT
    assert _curl(outside, "http://10.200.0.1:8080/") == "hello-published\n"  # prerouting
    ports = arcad.docker("port", "web").stdout.splitlines()
    assert ports == ["80/tcp -> 0.0.0.0:8080", "80/tcp -> [::]:8080"], ports
    inspect = json.loads(arcad.docker("inspect", "web").stdout)[0]
    assert inspect["HostConfig"]["PortBindings"] == {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}
    assert inspect["NetworkSettings"]["Ports"]["80/tcp"][0] == {"HostIp": "0.0.0.0",
                                                              "HostPort": "8080"}
    assert arcad.docker("ps", "-q", "--filter", "publish=8080").stdout.strip()
    assert arcad.docker("ps", "-q", "--filter", "publish=8000-8090/tcp").stdout.strip()
    assert not arcad.docker("ps", "-q", "--filter", "publish=80").stdout.strip()
    assert arcad.docker("ps", "-q", "--filter", "expose=80").stdout.strip()
    # A taken port: dockerd's error, at start.
    r = arcad.docker("run", "-d", "--name", "clash", "-p", "8080:80", "busybox", "true",
                     check=False)
    assert r.returncode != 0 and "port is already allocated" in r.stderr, r.stderr
    arcad.docker("rm", "-f", "clash")
    # -P publishes EXPOSEd ports on free ones; UDP goes both ways.
    with open(os.path.join(arcad.dir, "udp-echo"), "wb") as f:
        f.write(_udp_echo())
    os.chmod(os.path.join(arcad.dir, "udp-echo"), 0o755)
    arcad.docker("run", "-d", "--name", "echo", "--expose", "53/udp", "-P",
                 "-v", f"{arcad.dir}/udp-echo:/bin/udp-echo:ro", "busybox", "udp-echo", "53")
    port = int(arcad.docker("port", "echo", "53/udp").stdout.splitlines()[0].rsplit(":", 1)[1])
    assert port >= 1024
    time.sleep(1)
    script = ("import socket,sys; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
              "s.settimeout(5); s.sendto(b'hi', (sys.argv[1], int(sys.argv[2]))); "
              "print(s.recvfrom(100)[0].decode())")
    assert outside(["python3", "-c", script, "10.200.0.1", str(port)]).stdout == "pong hi\n"
    assert arcad.ns(["python3", "-c", script, "127.0.0.1", str(port)]).stdout == "pong hi\n"
    arcad.docker("rm", "-f", "web", "echo")
    # Nothing left: no veth, no TAP, no DNAT rule, the proxy's port free again.
    assert not [l for l in _links(arcad) if l.startswith(("avt", "avb", "avl"))]
    rules = arcad.ns(["nft", "list", "table", "inet", "arca"]).stdout
    assert "dnat" not in rules, rules
    arcad.ns(["python3", "-c", "import socket; s = socket.socket(); "
              "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); "
              "s.bind(('0.0.0.0', 8080))"])


def test_user_networks_names_aliases_isolation_and_internal(arcad):
    arcad.docker("network", "create", "appnet")
    arcad.docker("network", "create", "other")
    arcad.docker("network", "create", "--internal", "sealed")
    arcad.docker("run", "-d", "--name", "web", "--network", "appnet", "--network-alias", "api",
                 "-e", "MSG=from-web", "busybox", "sh", "-c", HTTPD)
    arcad.docker("run", "-d", "--name", "third", "--network", "other", "busybox", "sleep", "600")
    time.sleep(1)
    out = arcad.docker("run", "--rm", "--network", "appnet", "busybox", "sh", "-c",
                       "ping -c1 -W3 web >/dev/null && echo ping-web; "
                       "wget -qO- http://api/; wget -qO- http://web.appnet/; "
                       "cat /etc/resolv.conf").stdout
    assert "ping-web" in out and out.count("from-web") == 2, out
    assert "nameserver 127.0.0.11" in out and "options ndots:0" in out, out
    # Another network can't reach it.
    web_ip = _ip(arcad, "web", "appnet")
    r = arcad.docker("exec", "third", "sh", "-c",
                     f"ping -c1 -W2 {web_ip} || echo | nc -w 3 {web_ip} 80", check=False)
    assert r.returncode != 0, r.stdout
    # An internal network: no default route, no way to another network or its gateway's outside.
    out = arcad.docker("run", "--rm", "--network", "sealed", "busybox", "sh", "-c",
                       f"ip route; ping -c1 -W2 {web_ip} >/dev/null && echo reached",
                       check=False).stdout
    assert "default" not in out and "reached" not in out, out
    arcad.docker("rm", "-f", "web", "third")
    for n in ("appnet", "other", "sealed"):
        bridge = [l for l in _links(arcad) if l.startswith("arca-")]
        arcad.docker("network", "rm", n)
        assert len([l for l in _links(arcad) if l.startswith("arca-")]) == len(bridge) - 1


def test_connect_and_disconnect_a_running_container(arcad):
    arcad.docker("network", "create", "late")
    arcad.docker("run", "-d", "--name", "peer", "--network", "late", "busybox", "sleep", "600")
    arcad.docker("run", "-d", "--name", "box", "busybox", "sleep", "600")
    pid = json.loads(arcad.docker("inspect", "box").stdout)[0]["State"]["StartedAt"]
    t0 = time.time()
    arcad.docker("network", "connect", "--alias", "boxy", "--link", "peer:pal", "late", "box")
    assert time.time() - t0 < 10
    out = arcad.docker("exec", "box", "sh", "-c",
                       "ip -o -4 addr show eth1; ping -c1 -W3 peer >/dev/null && echo "
                       "reached; ping -c1 -W3 pal >/dev/null && echo linked; "
                       "grep nameserver /etc/resolv.conf").stdout
    assert _ip(arcad, "box", "late") in out and "reached" in out and "linked" in out, out
    assert "127.0.0.11" in out, out
    assert arcad.docker("exec", "peer", "sh", "-c",
                        "ping -c1 -W3 boxy >/dev/null && echo ok").stdout == "ok\n"
    arcad.docker("network", "disconnect", "late", "box")
    out = arcad.docker("exec", "box", "ip", "-o", "link").stdout
    assert "eth1" not in out and "eth0" in out, out
    assert json.loads(arcad.docker("inspect", "box").stdout)[0]["State"]["StartedAt"] == pid
    r = arcad.docker("network", "disconnect", "late", "box", check=False)
    assert r.returncode != 0 and "is not connected" in r.stderr
    arcad.docker("rm", "-f", "box", "peer")


def test_legacy_link_on_the_default_bridge(arcad):
    arcad.docker("run", "-d", "--name", "db", "--expose", "5432", "-e", "DBPASS=secret",
                 "busybox", "sleep", "600")
    out = arcad.docker("run", "--rm", "--link", "db:mydb", "busybox", "sh", "-c",
                       "cat /etc/hosts; env | sort").stdout
    ip = _ip(arcad, "db", "bridge")
    assert f"{ip}\tmydb " in out and " db\n" in out, out
    assert f"MYDB_PORT=tcp://{ip}:5432" in out and "MYDB_ENV_DBPASS=secret" in out, out
    assert "MYDB_NAME=/" in out and f"MYDB_PORT_5432_TCP_ADDR={ip}" in out, out
    r = arcad.docker("create", "--pull", "never", "--link", "nosuch:x", "busybox", check=False)
    assert r.returncode != 0 and "nosuch" in r.stderr
    arcad.docker("rm", "-f", "db")


def test_host_gateway_and_modes_a_vm_cannot_share(arcad):
    # Something listening on the host (arcad's namespace) at the default bridge's gateway.
    srv = subprocess.Popen(["ip", "netns", "exec", arcad.netns, "python3", "-c",
                            "import socket; s=socket.socket(); "
                            "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); "
                            "s.bind(('0.0.0.0', 9911)); s.listen(); c,_=s.accept(); "
                            "c.sendall(b'from-the-host\\n'); c.close()"])
    try:
        time.sleep(0.5)
        out = arcad.docker("run", "--rm", "--add-host", "host.docker.internal:host-gateway",
                           "busybox", "sh", "-c",
                           "grep host.docker.internal /etc/hosts; "
                           "nc host.docker.internal 9911 </dev/null").stdout
        assert "from-the-host" in out and "172." in out, out
    finally:
        srv.kill()
        srv.wait()
    for mode in ("host", "container:x"):
        r = arcad.docker("run", "--rm", "--network", mode, "busybox", "true", check=False)
        assert r.returncode != 0 and "not supported" in r.stderr, r.stderr


def test_ipam_options(arcad):
    arcad.docker("network", "create", "--subnet", "10.55.0.0/24", "--gateway", "10.55.0.254",
                 "--ip-range", "10.55.0.128/25", "--aux-address", "skip=10.55.0.128", "pinned")
    net = json.loads(arcad.docker("network", "inspect", "pinned").stdout)[0]
    assert net["IPAM"]["Config"][0]["Subnet"] == "10.55.0.0/24"
    out = arcad.docker("run", "--rm", "--network", "pinned", "busybox", "ip", "-o", "-4",
                       "addr", "show", "eth0").stdout
    assert "10.55.0.129/24" in out, out
    out = arcad.docker("run", "--rm", "--network", "pinned", "--ip", "10.55.0.7", "busybox",
                       "sh", "-c", "ip -o -4 addr show eth0; ip route").stdout
    assert "10.55.0.7/24" in out and "default via 10.55.0.254" in out, out
    r = arcad.docker("network", "create", "--subnet", "10.55.0.0/16", "overlap", check=False)
    assert r.returncode != 0 and "Pool overlaps" in r.stderr, r.stderr
    r = arcad.docker("run", "--rm", "--ip", "172.17.0.9", "busybox", "true", check=False)
    assert r.returncode != 0 and "user defined networks only" in r.stderr, r.stderr
    arcad.docker("network", "rm", "pinned")


def test_dns_forwarding_nodata_and_internal(arcad):
    # An upstream resolver inside the daemon's namespace, on a local address.
    arcad.ns(["ip", "addr", "add", "10.201.0.53/32", "dev", "lo"])
    arcad.set_resolv_conf("nameserver 10.201.0.53\n")
    dns = subprocess.Popen(["ip", "netns", "exec", arcad.netns, "dnsmasq", "--no-daemon",
                            "--no-resolv", "--no-hosts", "--listen-address=10.201.0.53",
                            "--bind-interfaces", "--address=/upstream.test/10.9.8.7",
                            "--pid-file="], stderr=subprocess.DEVNULL)
    try:
        arcad.restart()  # it reads the host's resolv.conf through ip netns exec
        arcad.docker("network", "create", "fwd")
        arcad.docker("network", "create", "--internal", "closed")
        arcad.docker("run", "-d", "--name", "named", "--network", "fwd", "busybox",
                     "sleep", "600")
        out = arcad.docker("run", "--rm", "--network", "fwd", "busybox", "sh", "-c",
                           "nslookup -type=A upstream.test; nslookup -type=AAAA named; "
                           "cat /etc/resolv.conf").stdout
        assert "10.9.8.7" in out, out
        assert "ExtServers: [host(10.201.0.53)]" in out, out
        # The name exists with IPv4 only: NODATA, not NXDOMAIN.
        assert "NXDOMAIN" not in out and "can't find named" not in out, out
        out = arcad.docker("run", "--rm", "--network", "closed", "busybox", "sh", "-c",
                           "nslookup upstream.test 2>&1", check=False).stdout
        assert "10.9.8.7" not in out, out
        # The default bridge: the host's servers, no resolver of its own.
        out = arcad.docker("run", "--rm", "busybox", "cat", "/etc/resolv.conf").stdout
        assert "nameserver 10.201.0.53" in out and "127.0.0.11" not in out, out
        arcad.docker("rm", "-f", "named")
    finally:
        dns.kill()
        dns.wait()


def test_addresses_and_ports_survive_kill_9_of_arcad(arcad, outside):
    arcad.docker("network", "create", "keep")
    arcad.docker("run", "-d", "--name", "svc", "--network", "keep", "-p", "8081:80",
                 "-e", "MSG=still-here", "busybox", "sh", "-c", HTTPD)
    arcad.docker("run", "-d", "--name", "asker", "--network", "keep", "busybox", "sleep", "600")
    ip = _ip(arcad, "svc", "keep")
    time.sleep(1)
    assert _curl(outside, "http://10.200.0.1:8081/") == "still-here\n"
    arcad.restart(hard=True)
    assert _ip(arcad, "svc", "keep") == ip
    # A container that ran across the restart still resolves names (the new daemon answers).
    out = arcad.docker("exec", "asker", "sh", "-c", "wget -qO- http://svc/").stdout
    assert out == "still-here\n", out
    assert _curl(arcad.ns, "http://127.0.0.1:8081/") == "still-here\n"
    assert _curl(outside, "http://10.200.0.1:8081/") == "still-here\n"
    arcad.docker("run", "--rm", "--network", "keep", "busybox", "sh", "-c",
                 "wget -qO- http://svc/ | grep -q still-here")
    arcad.docker("rm", "-f", "svc", "asker")
    assert not [l for l in _links(arcad) if l.startswith(("avt", "avb", "avl"))]
