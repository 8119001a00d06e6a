/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: arca-runtime's config.json reading (spec.c), cgroup paths and state ids. */
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>

#include "cgroup.h"
#include "spec.h"
#include "state.h"
#include "tap.h"

#define LINUX_NET "\"linux\": {\"namespaces\": [{\"type\": \"network\"}]}"

static int parse(const char *json, struct rt_spec *s, struct arca_error **err)
{
	return rt_spec_parse(json, strlen(json), s, err);
}

static bool fails_with(const char *json, const char *needle)
{
	struct rt_spec s;
	struct arca_error *err = NULL;
	bool ok_ = parse(json, &s, &err) < 0 && err && strstr(err->msg, needle);
	if (!ok_)
		printf("#   message: %s\n", err ? err->msg : "(parsed)");
	arca_error_free(err);
	return ok_;
}

static void test_podman_spec(void)
{
	struct rt_spec s;
	struct arca_error *err = NULL;
	const char *json =
	    "{\"ociVersion\": \"1.0.2-dev\", \"process\": {\"user\": {\"uid\": 1000, \"gid\": 100, "
	    "\"additionalGids\": [10, 20]}, \"args\": [\"/bin/echo\", \"hi\"], \"env\": "
	    "[\"PATH=/bin\", \"TERM=xterm\"], \"cwd\": \"/work\", \"rlimits\": [{\"type\": "
	    "\"RLIMIT_NOFILE\", \"hard\": 1048576, \"soft\": 1024}], \"capabilities\": "
	    "{\"bounding\": [\"CAP_CHOWN\"]}, \"consoleSize\": {\"height\": 40, \"width\": 120}}, "
	    "\"root\": {\"path\": \"rootfs\", \"readonly\": true}, \"hostname\": \"box\", "
	    "\"mounts\": [{\"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\", "
	    "\"options\": [\"nosuid\", \"noexec\", \"nodev\"]}, {\"destination\": \"/dev//shm/\", "
	    "\"type\": \"tmpfs\", \"source\": \"shm\", \"options\": [\"nosuid\", \"mode=1777\", "
	    "\"size=65536k\", \"rprivate\"]}, {\"destination\": \"/etc/hosts\", \"type\": "
	    "\"none\", \"source\": \"/run/hosts\", \"options\": [\"rbind\", \"ro\"]}], "
	    "\"annotations\": {\"k\": \"v\"}, \"linux\": {\"cgroupsPath\": \"/libpod_parent/x\", "
	    "\"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"network\"}], \"maskedPaths\": "
	    "[\"/proc/kcore\"], \"readonlyPaths\": [\"/proc/sys\"], \"resources\": {\"memory\": "
	    "{\"limit\": 536870912}, \"cpu\": {\"quota\": 150000, \"period\": 100000}}}}";
	ok(parse(json, &s, &err) == 0, "podman's spec parses (%s)", err ? err->msg : "");
	is_str(s.args[1], "hi", "args");
	is_str(s.env[1], "TERM=xterm", "env");
	is_str(s.cwd, "/work", "cwd");
	ok(s.uid == 1000 && s.gid == 100, "uid and gid");
	is_str(s.additional_gids[1], "20", "additional gids");
	ok(s.n_rlimits == 1 && s.rlimits[0].resource == RLIMIT_NOFILE &&
	       s.rlimits[0].soft == 1024 && s.rlimits[0].hard == 1048576,
	   "rlimits");
	ok(s.rows == 40 && s.cols == 120, "console size");
	is_str(s.not_applied, "process.capabilities", "capabilities: not applied, and said so");
	ok(s.root_readonly && !strcmp(s.root_path, "rootfs") && !strcmp(s.hostname, "box"),
	   "root and hostname");
	is_int(s.n_mounts, 3, "three mounts");
	ok(s.mounts[0].flags == (MS_NOSUID | MS_NOEXEC | MS_NODEV) && !s.mounts[0].data,
	   "proc's flags");
	is_str(s.mounts[1].destination, "/dev/shm", "a destination is cleaned");
	is_str(s.mounts[1].data, "mode=1777,size=65536k", "data options; propagation dropped");
	ok(!strcmp(s.mounts[2].type, "bind") && (s.mounts[2].flags & MS_BIND) &&
	       (s.mounts[2].flags & MS_RDONLY) && (s.mounts[2].flags & MS_REC),
	   "an rbind is a bind whatever its type");
	ok(s.netns_new && !s.netns_path, "a new network namespace");
	is_str(s.cgroups_path, "/libpod_parent/x", "cgroupsPath");
	is_str(s.masked_paths[0], "/proc/kcore", "masked paths");
	is_str(s.readonly_paths[0], "/proc/sys", "read-only paths");
	is_int(rt_spec_vm_memory_mb(&s, 256), 512, "the VM's memory is the limit");
	is_int(rt_spec_vm_cpus(&s), 2, "1.5 CPUs of quota: 2 vCPUs");
	is_str(json_string_value(json_object_get(s.annotations, "k")), "v", "annotations");
	char *user = rt_spec_user(&s);
	is_str(user, "1000:100", "the guest's user spec");
	free(user);
	rt_spec_done(&s);
}

static void test_refusals(void)
{
	ok(fails_with("[]", "not a JSON object"), "not an object");
	ok(fails_with("{\"root\": {\"path\": \"r\"}, " LINUX_NET "}", "process"), "no process");
	ok(fails_with("{\"process\": {\"args\": [], \"cwd\": \"/\"}, \"root\": {\"path\": "
		      "\"r\"}, " LINUX_NET "}",
		      "process.args"),
	   "empty args");
	ok(fails_with("{\"process\": {\"args\": [\"a\"], \"cwd\": \"rel\"}, \"root\": {\"path\": "
		      "\"r\"}, " LINUX_NET "}",
		      "process.cwd"),
	   "relative cwd");
	ok(fails_with("{\"process\": {\"args\": [\"a\"], \"cwd\": \"/\", \"env\": [\"NOEQ\"]}, "
		      "\"root\": {\"path\": \"r\"}, " LINUX_NET "}",
		      "KEY=VALUE"),
	   "env without =");
	ok(fails_with("{\"process\": {\"args\": [\"a\"], \"cwd\": \"/\"}, \"root\": {\"path\": "
		      "\"r\"}, \"linux\": {\"namespaces\": [{\"type\": \"pid\"}]}}",
		      "host networking"),
	   "host networking");
	ok(fails_with("{\"process\": {\"args\": [\"a\"], \"cwd\": \"/\"}, \"root\": {\"path\": "
		      "\"r\"}, \"linux\": {\"namespaces\": [{\"type\": \"network\"}, {\"type\": "
		      "\"user\"}]}}",
		      "user namespaces"),
	   "user namespaces");
	ok(fails_with(
	       "{\"process\": {\"args\": [\"a\"], \"cwd\": \"/\"}, \"root\": {\"path\": "
	       "\"r\"}, \"mounts\": [{\"destination\": \"/x\", \"type\": \"nfs\"}], " LINUX_NET "}",
	       "`nfs`"),
	   "a mount type a VM cannot take");
	ok(fails_with(
	       "{\"process\": {\"args\": [\"a\"], \"cwd\": \"/\"}, \"root\": {\"path\": "
	       "\"r\"}, \"mounts\": [{\"destination\": \"/x\", \"type\": \"bind\"}], " LINUX_NET
	       "}",
	       "no source"),
	   "a bind without a source");
	ok(fails_with("{\"process\": {\"args\": [\"a\"], \"cwd\": \"/\", \"rlimits\": [{\"type\": "
		      "\"RLIMIT_BOGUS\", \"soft\": 1, \"hard\": 1}]}, \"root\": {\"path\": "
		      "\"r\"}, " LINUX_NET "}",
		      "RLIMIT_BOGUS"),
	   "an unknown rlimit");
	ok(fails_with("{\"process\": {\"args\": [\"a\"], \"cwd\": \"/\"}, " LINUX_NET "}",
		      "root.path"),
	   "no root");
	ok(fails_with("{\"process\": {\"args\": [\"a\"], \"cwd\": \"/\"}, \"root\": {\"path\": "
		      "\"r\"}, \"hooks\": {\"prestart\": [{\"path\": \"/bin/true\"}]}, " LINUX_NET
		      "}",
		      "hooks"),
	   "hooks");
}

static void test_process_json(void)
{
	struct rt_spec s;
	struct arca_error *err = NULL;
	const char *json = "{\"args\": [\"sh\"], \"cwd\": \"/\", \"terminal\": true}";
	ok(rt_process_parse(json, strlen(json), &s, &err) == 0 && s.terminal &&
	       !strcmp(s.args[0], "sh"),
	   "an exec's process.json");
	rt_spec_done(&s);
	ok(rt_process_parse("{\"args\": 1}", 11, &s, &err) < 0, "args must be an array");
	arca_error_free(err);
}

static void test_cgroup_paths(void)
{
	char *p = NULL;
	ok(rt_cgroup_path(NULL, "c1", &p, NULL) == 0 && !strcmp(p, "/arca-runtime/c1"),
	   "the default cgroup");
	free(p);
	ok(rt_cgroup_path("/libpod_parent/libpod-x", "c1", &p, NULL) == 0 &&
	       !strcmp(p, "/libpod_parent/libpod-x"),
	   "cgroupfs: as given");
	free(p);
	ok(rt_cgroup_path("machine-a-b.slice:libpod:x", "c1", &p, NULL) == 0 &&
	       !strcmp(p, "/machine.slice/machine-a.slice/machine-a-b.slice/libpod-x.scope"),
	   "systemd: slice:prefix:name (%s)", p);
	free(p);
	ok(rt_cgroup_path("system.slice:containerd:x", "c1", &p, NULL) == 0 &&
	       !strcmp(p, "/system.slice/containerd-x.scope"),
	   "systemd: system.slice");
	free(p);
	ok(rt_cgroup_path("/a/../../b", "c1", &p, NULL) == 0 && !strcmp(p, "/b"),
	   "no escape above the root: `..` stops there");
	free(p);
	ok(rt_cgroup_path("/", "c1", &p, NULL) < 0, "not the root itself");
	ok(rt_cgroup_path("bad-.slice:p:n", "c1", &p, NULL) < 0, "a bad slice name");
}

static void test_ids(void)
{
	ok(rt_id_valid("abc-DEF_1.2+3"), "a valid id");
	ok(!rt_id_valid("") && !rt_id_valid(".") && !rt_id_valid("..") && !rt_id_valid("a/b") &&
	       !rt_id_valid("a b"),
	   "ids that could not be a directory name");
	char *a = rt_vm_id("/run/x", "c1"), *b = rt_vm_id("/run/y", "c1");
	ok(strlen(a) == 16 && strcmp(a, b) != 0, "VM ids differ between roots");
	free(a);
	free(b);
}

int main(void)
{
	test_podman_spec();
	test_refusals();
	test_process_json();
	test_cgroup_paths();
	test_ids();
	return tap_done();
}
