/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: src/image/changes.c (import/commit --change instructions). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "changes.h"
#include "tap.h"

/* Applies one instruction to a config given as JSON; the result as compact JSON or the error. */
static char *apply(const char *config, const char *change)
{
	json_t *c = json_loads(config, 0, NULL);
	char *list[] = { (char *)change, NULL };
	struct arca_error *err = NULL;
	char *out;
	if (image_changes_apply(c, list, &err) < 0)
		out = strdup(err->msg);
	else
		out = json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS);
	arca_error_free(err);
	json_decref(c);
	return out;
}

static void check(const char *config, const char *change, const char *want)
{
	char *got = apply(config, change);
	is_str(got, want, "%s", change);
	free(got);
}

int main(void)
{
	check("{}", "CMD [\"sh\"]", "{\"Cmd\":[\"sh\"]}");
	check("{}", "cmd echo hi there", "{\"Cmd\":[\"/bin/sh\",\"-c\",\"echo hi there\"]}");
	check("{}", "CMD [not json", "{\"Cmd\":[\"/bin/sh\",\"-c\",\"[not json\"]}");
	check("{}", "ENTRYPOINT [\"/init\", \"--\"]", "{\"Entrypoint\":[\"/init\",\"--\"]}");
	check("{\"Env\":[\"A=1\",\"B=2\"]}", "ENV A=x C=\"has space\" D='lit\\eral'",
	      "{\"Env\":[\"A=x\",\"B=2\",\"C=has space\",\"D=lit\\\\eral\"]}");
	check("{}", "ENV GREETING hello  world", "{\"Env\":[\"GREETING=hello  world\"]}");
	check("{}", "ENV A=\"open", "ENV: unterminated quote");
	check("{}", "ENV =x", "ENV: `=x` is not of the form key=value");
	check("{}", "EXPOSE 80 53/UDP 8000-8002/tcp",
	      "{\"ExposedPorts\":{\"53/udp\":{},\"80/tcp\":{},\"8000/tcp\":{},\"8001/tcp\":{},"
	      "\"8002/tcp\":{}}}");
	check("{}", "EXPOSE 70000", "invalid containerPort: 70000");
	check("{}", "EXPOSE 80/icmp", "invalid containerPort: 80/icmp");
	check("{}", "EXPOSE 1-65535", "invalid containerPort: 1-65535");
	check("{}", "LABEL a=b \"c d\"=e", "{\"Labels\":{\"a\":\"b\",\"c d\":\"e\"}}");
	check("{}", "VOLUME /data /logs", "{\"Volumes\":{\"/data\":{},\"/logs\":{}}}");
	check("{}", "VOLUME [\"/v\"]", "{\"Volumes\":{\"/v\":{}}}");
	check("{}", "USER nobody:nogroup", "{\"User\":\"nobody:nogroup\"}");
	check("{}", "USER", "USER requires an argument");
	check("{\"WorkingDir\":\"/srv\"}", "WORKDIR app", "{\"WorkingDir\":\"/srv/app\"}");
	check("{}", "WORKDIR /x", "{\"WorkingDir\":\"/x\"}");
	check("{}", "STOPSIGNAL SIGINT", "{\"StopSignal\":\"SIGINT\"}");
	check("{}", "ONBUILD RUN make", "{\"OnBuild\":[\"RUN make\"]}");
	check("{}", "RUN rm -rf /", "RUN is not a valid change command");
	check("{}", "   ", "{}");

	json_t *c = json_object();
	char *many[] = { "ENV A=1", "CMD [\"a\"]", "CMD [\"b\"]", NULL };
	ok(image_changes_apply(c, many, NULL) == 0 &&
	       strcmp(json_string_value(json_array_get(json_object_get(c, "Cmd"), 0)), "b") == 0,
	   "instructions apply in order, the last CMD wins");
	json_decref(c);
	return tap_done();
}
