/* SPDX-License-Identifier: Apache-2.0 */
/* arcad's nftables table (see nft.h). */
#include "nft.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "cleanup.h"
#include "exec-util.h"
#include "fd-util.h"

#define TABLE "inet arca"

char *nft_ruleset(const struct nft_bridge *b, size_t nb, const struct nft_port *p, size_t np)
{
	char *s = xstrdup("table " TABLE " {\n");
	/* Published ports. */
	strappendf(&s, "\tchain ports {\n");
	for (size_t i = 0; i < np; i++) {
		bool any = !p[i].host_ip || strcmp(p[i].host_ip, "0.0.0.0") == 0;
		_cleanup_free_ char *daddr =
		    any ? xstrdup("") : xasprintf("ip daddr %s ", p[i].host_ip);
		strappendf(
		    &s, "\t\tiifname != \"%s\" meta nfproto ipv4 %s%s dport %u dnat ip to %s:%u\n",
		    p[i].bridge, daddr, p[i].proto, p[i].host_port, p[i].ctr_ip, p[i].ctr_port);
	}
	strappendf(&s, "\t}\n");
	strappendf(&s, "\tchain prerouting {\n\t\ttype nat hook prerouting priority dstnat; policy "
		       "accept;\n\t\tfib daddr type local jump ports\n\t}\n");
	strappendf(&s, "\tchain output {\n\t\ttype nat hook output priority -100; policy accept;\n"
		       "\t\tip daddr != 127.0.0.0/8 fib daddr type local jump ports\n\t}\n");
	/* Egress. */
	strappendf(&s,
		   "\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy "
		   "accept;\n");
	for (size_t i = 0; i < nb; i++) {
		if (b[i].internal || !b[i].masquerade)
			continue;
		if (b[i].subnet4)
			strappendf(&s, "\t\tip saddr %s oifname != \"%s\" masquerade\n",
				   b[i].subnet4, b[i].name);
		if (b[i].subnet6)
			strappendf(&s, "\t\tip6 saddr %s oifname != \"%s\" masquerade\n",
				   b[i].subnet6, b[i].name);
	}
	strappendf(&s, "\t}\n");
	/* Internal networks and isolation between networks. */
	strappendf(&s, "\tchain forward {\n\t\ttype filter hook forward priority filter; policy "
		       "accept;\n");
	_cleanup_free_ char *all = xstrdup("");
	for (size_t i = 0; i < nb; i++)
		strappendf(&all, "%s\"%s\"", i ? ", " : "", b[i].name);
	for (size_t i = 0; i < nb; i++) {
		if (b[i].internal) {
			strappendf(&s, "\t\tiifname \"%s\" oifname != \"%s\" drop\n", b[i].name,
				   b[i].name);
			strappendf(&s, "\t\toifname \"%s\" iifname != \"%s\" drop\n", b[i].name,
				   b[i].name);
		} else if (nb > 1) {
			strappendf(&s, "\t\tiifname \"%s\" oifname != \"%s\" oifname { %s } drop\n",
				   b[i].name, b[i].name, all);
		}
	}
	strappendf(&s, "\t}\n}\n");
	return s;
}

int nft_apply(const char *ruleset, const char *dir, struct arca_error **err)
{
	/* "table" first, so the delete finds one; both in one transaction. */
	_cleanup_free_ char *text =
	    xasprintf("table " TABLE "\ndelete table " TABLE "\n%s", ruleset ? ruleset : "");
	_cleanup_free_ char *path = xasprintf("%s/arca.nft", dir);
	int r = write_file_at(AT_FDCWD, path, text, strlen(text), 0600);
	if (r < 0)
		return arca_error_errno(err, -r, "write %s", path);
	const char *argv[] = { "nft", "-f", path, NULL };
	_cleanup_free_ char *why = NULL;
	r = run_command(argv, NULL, &why);
	(void)unlink(path);
	if (r < 0)
		return arca_error_errno(err, -r, "run nft (is the nftables package installed?)");
	if (r != 0) {
		size_t n = why ? strlen(why) : 0;
		while (n && why[n - 1] == '\n')
			why[--n] = '\0';
		return arca_error_set(err, EIO, ARCA_ERR_INTERNAL, "nft failed (%d): %s", r,
				      why && why[0] ? why : "no message");
	}
	return 0;
}

void nft_conntrack_flush(const char *addr)
{
	/* As the original source (egress, masqueraded) and as the reply source (DNAT'd in). */
	const char *out[] = { "conntrack", "-D", "-s", addr, NULL };
	const char *in[] = { "conntrack", "-D", "-r", addr, NULL };
	(void)run_command(out, NULL, NULL);
	(void)run_command(in, NULL, NULL);
}
