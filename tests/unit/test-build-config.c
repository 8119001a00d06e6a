/* SPDX-License-Identifier: Apache-2.0 */
/* The builder's pure parts: ARG resolution and config steps with dockerd's history texts. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "build-args.h"
#include "build-config.h"
#include "cleanup.h"
#include "dockerfile.h"
#include "strv.h"
#include "tap.h"

static const char *lookup(const char *name, void *userdata)
{
	(void)userdata;
	return strcmp(name, "P") == 0 ? "8080" : strcmp(name, "U") == 0 ? "app" : NULL;
}

/* Applies one Dockerfile line (after a FROM) to c; returns the history text. */
static char *apply(struct build_config_ctx *c, const char *line, char **note)
{
	_cleanup_free_ char *text = NULL;
	text = malloc(strlen(line) + 16);
	strcpy(text, "FROM x\n");
	strcat(text, line);
	struct dockerfile *df = NULL;
	char *commit = NULL;
	if (dockerfile_parse(text, strlen(text), &df, NULL) == 0)
		(void)build_config_apply(c, &df->insts[1], &commit, note, NULL);
	dockerfile_free(df);
	return commit;
}

static void test_args(void)
{
	json_t *given = json_pack("{s:s, s:s, s:n, s:s}", "V", "cli", "HTTP_PROXY", "http://p",
				  "NULLED", "UNUSED", "1");
	struct build_args a;
	build_args_init(&a, given);
	build_args_add_meta(&a, "V", "meta");
	build_args_add_meta(&a, "M", "meta-default");
	is_str(build_args_meta_lookup("V", &a), "cli", "a meta ARG takes the build arg");
	is_str(build_args_meta_lookup("M", &a), "meta-default", "or its default");
	build_args_reset_stage(&a);
	ok(build_args_value(&a, "M") == NULL, "a stage does not see meta ARGs undeclared");
	build_args_declare(&a, "M", NULL);
	is_str(build_args_value(&a, "M"), "meta-default", "declared without a value: the meta one");
	build_args_declare(&a, "D", "dflt");
	build_args_declare(&a, "NULLED", NULL);
	is_str(build_args_value(&a, "HTTP_PROXY"), "http://p", "proxies need no declaration");
	json_t *env = json_pack("[s]", "D=from-env");
	char **run = build_args_run_env(&a, env);
	ok(strv_length(run) == 2 && strcmp(run[0], "HTTP_PROXY=http://p") == 0 &&
	       strcmp(run[1], "M=meta-default") == 0,
	   "RUN's env: ENV wins over ARG; the null build arg is not set");
	char **prefix = build_args_run_prefix(&a, run);
	ok(strv_length(prefix) == 2 && strcmp(prefix[0], "|1") == 0 &&
	       strcmp(prefix[1], "M=meta-default") == 0,
	   "the |N prefix leaves undeclared proxies out");
	char **unused = build_args_unused(&a);
	ok(strv_length(unused) == 1 && strcmp(unused[0], "UNUSED") == 0, "the unused warning");
	strv_free(run);
	strv_free(prefix);
	strv_free(unused);
	json_decref(env);
	build_args_done(&a);
	json_decref(given);
}

static void test_config(void)
{
	struct build_config_ctx c = { .config = json_object(), .escape = '\\', .lookup = lookup };
	build_config_default_path(c.config);
	char *note = NULL, *t;
	t = apply(&c, "ENV A=1 B=\"two words\"", &note);
	is_str(t, "ENV A=1 B=two words", "ENV's history text");
	free(t);
	t = apply(&c, "EXPOSE 53/udp $P 8000-8001", &note);
	is_str(t, "EXPOSE 8080 53/udp 8000-8001", "EXPOSE: sorted as written, then expanded");
	free(t);
	ok(json_object_size(json_object_get(c.config, "ExposedPorts")) == 4, "four ports");
	free(t = apply(&c, "USER $U", &note));
	is_str(json_string_value(json_object_get(c.config, "User")), "app", "USER expanded");
	t = apply(&c, "WORKDIR /w", &note);
	free(t);
	t = apply(&c, "WORKDIR rel/../x", &note);
	is_str(t, "WORKDIR /w/x", "a relative WORKDIR joins the previous one");
	free(t);
	t = apply(&c, "CMD [\"sh\"]", &note);
	is_str(t, "CMD [\"sh\"]", "CMD's history text");
	free(t);
	t = apply(&c, "ENTRYPOINT echo", &note);
	is_str(t, "ENTRYPOINT [\"/bin/sh\" \"-c\" \"echo\"]", "the shell form, Go-quoted");
	free(t);
	ok(json_is_array(json_object_get(c.config, "Cmd")),
	   "a CMD of this stage survives ENTRYPOINT");
	t = apply(&c, "HEALTHCHECK --interval=1m30s --retries=2 CMD true", &note);
	is_str(t, "HEALTHCHECK &{[\"CMD-SHELL\" \"true\"] \"1m30s\" \"0s\" \"0s\" \"0s\" '\\x02'}",
	       "HEALTHCHECK as dockerd prints it");
	free(t);
	ok(!note, "no note for the first HEALTHCHECK");
	t = apply(&c, "HEALTHCHECK NONE", &note);
	ok(note && strstr(note, "overriding previous HEALTHCHECK"),
	   "a note when one replaces another");
	free(note);
	free(t);
	t = apply(&c, "STOPSIGNAL NOPE", &note);
	ok(!t, "an unknown signal is refused");
	t = apply(&c, "VOLUME [\"/a\", \"/b\"]", &note);
	is_str(t, "VOLUME [/a /b]", "VOLUME's history text");
	free(t);
	t = apply(&c, "ONBUILD RUN echo child", &note);
	is_str(t, "ONBUILD RUN echo child", "ONBUILD keeps the trigger as written");
	free(t);
	json_decref(c.config);
	free(c.author);

	_cleanup_free_ char *d1 = go_duration(90LL * 1000000000LL), *d2 = go_duration(500000000),
			    *d3 = go_duration(3600LL * 1000000000LL);
	is_str(d1, "1m30s", "Go duration: 1m30s");
	is_str(d2, "500ms", "Go duration: 500ms");
	is_str(d3, "1h0m0s", "Go duration: 1h0m0s");
}

int main(void)
{
	test_args();
	test_config();
	return tap_done();
}
