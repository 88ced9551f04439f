/* task.c: the task registry (tasks/list.h) and the default parameters.
   Each task's definition is one file in tasks/ (docs/tasks.md). */
#include "task.h"
#include "config.h"
#include "tasks/common.h"

#include <string.h>

/* the defaults are those of the run settings (settings.h), declared once */
void task_params_default(TaskParams *p) {
    RunConfig c;
    config_default(&c);
    *p = c.task_params;
}

static const Task *const registry[] = {
#define TASK(t) &task_##t,
#include "tasks/list.h"
#undef TASK
};

const Task *const *task_all(int *count) {
    *count = (int)(sizeof registry / sizeof registry[0]);
    return registry;
}

const Task *task_find(const char *name) {
    int n;
    const Task *const *all = task_all(&n);
    for (int i = 0; i < n; i++)
        if (!strcmp(all[i]->name, name)) return all[i];
    return NULL;
}
