/* SPDX-License-Identifier: Apache-2.0 */
/* VMs ending with no container (see reaper.h). */
#include "reaper.h"

#include <stdlib.h>

#include "alloc.h"
#include "vm.h"

struct reaped {
	struct reaper *reaper;
	struct vm *vm;
	struct reaped *next;
};

struct reaper {
	struct reaped *list;
};

struct reaper *reaper_new(void)
{
	return xnew0(struct reaper, 1);
}

static void on_exited(struct vm *vm, int error, void *userdata)
{
	struct reaped *e = userdata;
	(void)error;
	for (struct reaped **p = &e->reaper->list; *p; p = &(*p)->next)
		if (*p == e) {
			*p = e->next;
			break;
		}
	vm_free(vm);
	free(e);
}

static const struct vm_callbacks reaper_cbs = { .exited = on_exited };

void reaper_take(struct reaper *r, struct vm *vm)
{
	struct reaped *e = xnew0(struct reaped, 1);
	e->reaper = r;
	e->vm = vm;
	e->next = r->list;
	r->list = e;
	vm_set_owner(vm, &reaper_cbs, e);
	vm_kill(vm);
}

struct reaper *reaper_free(struct reaper *r)
{
	if (!r)
		return NULL;
	while (r->list) {
		struct reaped *e = r->list;
		r->list = e->next;
		vm_free(e->vm); /* kills the VMM if it still runs, and waits: no callback */
		free(e);
	}
	free(r);
	return NULL;
}
