/* SPDX-License-Identifier: Apache-2.0 */
/* A VM's NIC as an 802.1Q trunk: the two tc-BPF programs (see trunk.h). */
#include "trunk.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "alloc.h"
#include "cleanup.h"
#include "netlink.h"

/* The instructions used (the kernel's include/linux/filter.h names). */
#define MOV64_REG(D, S) \
	((struct bpf_insn){ .code = BPF_ALU64 | BPF_MOV | BPF_X, .dst_reg = D, .src_reg = S })
#define MOV64_IMM(D, I) \
	((struct bpf_insn){ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = D, .imm = I })
#define AND64_IMM(D, I) \
	((struct bpf_insn){ .code = BPF_ALU64 | BPF_AND | BPF_K, .dst_reg = D, .imm = I })
#define LDX_W(D, S, O)      \
	((struct bpf_insn){ \
	    .code = BPF_LDX | BPF_W | BPF_MEM, .dst_reg = D, .src_reg = S, .off = O })
#define JEQ_IMM(D, I, O) \
	((struct bpf_insn){ .code = BPF_JMP | BPF_JEQ | BPF_K, .dst_reg = D, .off = O, .imm = I })
#define JNE_IMM(D, I, O) \
	((struct bpf_insn){ .code = BPF_JMP | BPF_JNE | BPF_K, .dst_reg = D, .off = O, .imm = I })
#define JA(O)	((struct bpf_insn){ .code = BPF_JMP | BPF_JA, .off = O })
#define CALL(F) ((struct bpf_insn){ .code = BPF_JMP | BPF_CALL, .imm = F })
#define EXIT()	((struct bpf_insn){ .code = BPF_JMP | BPF_EXIT })

#define SKB(f)	      ((short)offsetof(struct __sk_buff, f))
#define PROTO_8021Q   0x0081 /* htons(ETH_P_8021Q) as the (little-endian) context reads it */
#define FILTER_PRIO   1
#define FILTER_HANDLE 1

/* Forward jumps by label, resolved once the program is complete. */
enum { L_DROP, L_GO, _L_MAX };
struct prog {
	struct bpf_insn *p;
	size_t n, cap;
	size_t label[_L_MAX];
	struct {
		size_t at;
		int label;
	} fix[8];
	size_t nfix;
};

static void emit(struct prog *g, struct bpf_insn i)
{
	if (g->n == g->cap) {
		g->cap = g->cap ? 2 * g->cap : 64;
		g->p = xrealloc(g->p, g->cap * sizeof(*g->p));
	}
	g->p[g->n++] = i;
}

static void emit_to(struct prog *g, struct bpf_insn i, int label)
{
	g->fix[g->nfix].at = g->n;
	g->fix[g->nfix++].label = label;
	emit(g, i);
}

static void resolve(struct prog *g)
{
	for (size_t i = 0; i < g->nfix; i++)
		g->p[g->fix[i].at].off = (short)(g->label[g->fix[i].label] - g->fix[i].at - 1);
}

/*
 * r6 = ctx; drop unless 802.1Q-tagged; r7 = VID; per VLAN "if r7 == vid: r8 = leg, go";
 * drop: r0 = SHOT; go: pop the tag, drop if another one surfaced, redirect to r8.
 */
static void build_tap(struct prog *g, const struct trunk_vlan *v, size_t n)
{
	emit(g, MOV64_REG(BPF_REG_6, BPF_REG_1));
	emit(g, LDX_W(BPF_REG_2, BPF_REG_6, SKB(vlan_present)));
	emit_to(g, JEQ_IMM(BPF_REG_2, 0, 0), L_DROP);
	emit(g, LDX_W(BPF_REG_2, BPF_REG_6, SKB(vlan_proto)));
	emit_to(g, JNE_IMM(BPF_REG_2, PROTO_8021Q, 0), L_DROP);
	emit(g, LDX_W(BPF_REG_7, BPF_REG_6, SKB(vlan_tci)));
	emit(g, AND64_IMM(BPF_REG_7, 0x0fff));
	for (size_t i = 0; i < n; i++) {
		emit(g, JNE_IMM(BPF_REG_7, v[i].vid, 2));
		emit(g, MOV64_IMM(BPF_REG_8, v[i].leg));
		/* a backward-resolved jump to L_GO: its offset is known once L_GO is placed */
		emit(g, JA(0));
	}
	size_t jumps_end = g->n;
	g->label[L_DROP] = g->n;
	emit(g, MOV64_IMM(BPF_REG_0, TC_ACT_SHOT));
	emit(g, EXIT());
	g->label[L_GO] = g->n;
	emit(g, MOV64_REG(BPF_REG_1, BPF_REG_6));
	emit(g, CALL(BPF_FUNC_skb_vlan_pop));
	emit_to(g, JNE_IMM(BPF_REG_0, 0, 0), L_DROP);
	/* A second tag moved into the metadata by the pop: no QinQ into a bridge. */
	emit(g, LDX_W(BPF_REG_2, BPF_REG_6, SKB(vlan_present)));
	emit_to(g, JNE_IMM(BPF_REG_2, 0, 0), L_DROP);
	emit(g, MOV64_REG(BPF_REG_1, BPF_REG_8)); /* r6-r9 survive helper calls */
	emit(g, MOV64_IMM(BPF_REG_2, 0));	  /* flags 0: the leg's egress */
	emit(g, CALL(BPF_FUNC_redirect));	  /* r0 = TC_ACT_REDIRECT */
	emit(g, EXIT());
	for (size_t i = 0; i < n; i++) {
		size_t at = jumps_end - 3 * (n - i) + 2;
		g->p[at].off = (short)(g->label[L_GO] - at - 1);
	}
	resolve(g);
}

static void build_leg(struct prog *g, uint16_t vid, int tap)
{
	emit(g, MOV64_REG(BPF_REG_6, BPF_REG_1));
	emit(g, LDX_W(BPF_REG_2, BPF_REG_6, SKB(vlan_present)));
	emit_to(g, JNE_IMM(BPF_REG_2, 0, 0), L_DROP); /* already tagged: no QinQ to the guest */
	emit(g, MOV64_REG(BPF_REG_1, BPF_REG_6));
	emit(g, MOV64_IMM(BPF_REG_2, PROTO_8021Q));
	emit(g, MOV64_IMM(BPF_REG_3, vid));
	emit(g, CALL(BPF_FUNC_skb_vlan_push));
	emit_to(g, JNE_IMM(BPF_REG_0, 0, 0), L_DROP);
	emit(g, MOV64_IMM(BPF_REG_1, tap));
	emit(g, MOV64_IMM(BPF_REG_2, 0)); /* the TAP's egress: to QEMU */
	emit(g, CALL(BPF_FUNC_redirect));
	emit(g, EXIT());
	g->label[L_DROP] = g->n;
	emit(g, MOV64_IMM(BPF_REG_0, TC_ACT_SHOT));
	emit(g, EXIT());
	resolve(g);
}

static int load(const struct prog *g, const char *name, struct arca_error **err)
{
	static const char license[] = "Apache-2.0"; /* no GPL-only helper is called */
	char log[4096] = "";
	union bpf_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_SCHED_CLS;
	attr.insns = (uint64_t)(uintptr_t)g->p;
	attr.insn_cnt = (uint32_t)g->n;
	attr.license = (uint64_t)(uintptr_t)license;
	strncpy(attr.prog_name, name, sizeof(attr.prog_name) - 1);
	/* EAGAIN: the verifier stopped for a signal (or a transient shortage); libbpf
	 * retries too. */
	int fd = -1;
	for (int attempt = 0; attempt < 5; attempt++) {
		fd = (int)syscall(__NR_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
		if (fd >= 0)
			return fd;
		if (errno != EAGAIN)
			break;
	}
	int e = errno;
	/* Again with the verifier's log, for the error. */
	attr.log_level = 1;
	attr.log_buf = (uint64_t)(uintptr_t)log;
	attr.log_size = sizeof(log);
	fd = (int)syscall(__NR_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
	if (fd >= 0)
		close(fd);
	size_t len = strlen(log);
	while (len && log[len - 1] == '\n')
		log[--len] = '\0';
	const char *last = strrchr(log, '\n');
	return arca_error_set(err, e, ARCA_ERR_INTERNAL, "load the %s program: %s%s%s", name,
			      strerror(e), log[0] ? ": " : "", last ? last + 1 : log);
}

static struct tcmsg *tc_msg(struct nl_msg *m, uint16_t type, uint16_t flags, int ifindex)
{
	nl_msg_init(m, type, flags);
	struct tcmsg *t = nl_msg_header(m, sizeof(*t));
	t->tcm_family = AF_UNSPEC;
	t->tcm_ifindex = ifindex;
	return t;
}

static int ensure_clsact(struct nl_sock *nl, int ifindex)
{
	struct nl_msg m;
	struct tcmsg *t = tc_msg(&m, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, ifindex);
	t->tcm_handle = TC_H_MAKE(TC_H_CLSACT, 0);
	t->tcm_parent = TC_H_CLSACT;
	nl_put_str(&m, TCA_KIND, "clsact");
	int r = nl_call(nl, &m, NULL, NULL);
	return r == -EEXIST ? 0 : r;
}

/* Loads g and puts it on ifindex's ingress (replacing what was there). */
static int attach(struct nl_sock *nl, int ifindex, const struct prog *g, const char *name,
		  struct arca_error **err)
{
	int r = ensure_clsact(nl, ifindex);
	if (r < 0)
		return arca_error_set(err, -r, ARCA_ERR_INTERNAL, "add clsact to link %d: %s",
				      ifindex, nl->err[0] ? nl->err : strerror(-r));
	_cleanup_close_ int fd = load(g, name, err);
	if (fd < 0)
		return fd;
	struct nl_msg m;
	struct tcmsg *t = tc_msg(&m, RTM_NEWTFILTER, NLM_F_CREATE | NLM_F_REPLACE, ifindex);
	t->tcm_parent = TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS);
	t->tcm_handle = FILTER_HANDLE;
	t->tcm_info = TC_H_MAKE((uint32_t)FILTER_PRIO << 16, htons(ETH_P_ALL));
	nl_put_str(&m, TCA_KIND, "bpf");
	nl_nest_begin(&m, TCA_OPTIONS);
	nl_put_u32(&m, TCA_BPF_FD, (uint32_t)fd);
	nl_put_str(&m, TCA_BPF_NAME, name);
	nl_put_u32(&m, TCA_BPF_FLAGS, TCA_BPF_FLAG_ACT_DIRECT);
	nl_nest_end(&m);
	r = nl_call(nl, &m, NULL, NULL);
	if (r < 0)
		return arca_error_set(err, -r, ARCA_ERR_INTERNAL, "attach %s to link %d: %s", name,
				      ifindex, nl->err[0] ? nl->err : strerror(-r));
	return 0; /* the filter holds the program now */
}

int trunk_set_tap(struct nl_sock *nl, int tap, const struct trunk_vlan *vlans, size_t n,
		  struct arca_error **err)
{
	struct prog g = { 0 };
	build_tap(&g, vlans, n);
	int r = attach(nl, tap, &g, "arca_trunk_in", err);
	free(g.p);
	return r;
}

int trunk_set_leg(struct nl_sock *nl, int leg, uint16_t vid, int tap, struct arca_error **err)
{
	struct prog g = { 0 };
	build_leg(&g, vid, tap);
	int r = attach(nl, leg, &g, "arca_trunk_out", err);
	free(g.p);
	return r;
}

int trunk_clear(struct nl_sock *nl, int ifindex)
{
	struct nl_msg m;
	struct tcmsg *t = tc_msg(&m, RTM_DELQDISC, 0, ifindex);
	t->tcm_handle = TC_H_MAKE(TC_H_CLSACT, 0);
	t->tcm_parent = TC_H_CLSACT;
	int r = nl_call(nl, &m, NULL, NULL);
	return r == -ENOENT || r == -EINVAL ? 0 : r; /* none there */
}
