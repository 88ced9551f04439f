/* test_task_registry.c: the facts of harness/task.c itself: the registry
   in the order of docs/tasks.md and the default parameters. This is the one
   task test that names every task: a new task takes its place in the order
   here and in docs/tasks.md; everything else a task must do is checked for
   it by test_task_contract.c without an edit. */
#include <criterion/criterion.h>

#include <string.h>

#include "../harness/task.h"

Test(tasks, registry_in_the_order_of_tasks_md) {
    static const char *names[] = {"adding", "copy", "recall", "temporal-order",
                                  "multiplication", "xor", "reber", "timing",
                                  "reber-continual", "adding-stream",
                                  "multiplication-stream", "jsb"};
    int n = 0;
    const Task *const *all = task_all(&n);
    cr_assert_eq(n, 12);
    for (int i = 0; i < n; i++) {
        cr_assert_str_eq(all[i]->name, names[i]);
        cr_assert_eq(task_find(names[i]), all[i]);
        cr_assert(all[i]->desc && all[i]->params && all[i]->check && all[i]->shape &&
                  all[i]->generate && all[i]->baseline && all[i]->count && all[i]->solved);
    }
    cr_assert_null(task_find("nope"));
}

Test(tasks, defaults) {
    TaskParams p;
    memset(&p, 0x7f, sizeof p);
    task_params_default(&p);
    cr_assert_eq(p.delay, 100);
    cr_assert_eq(p.n_classes, 4);
    cr_assert_eq(p.form, 0);
    cr_assert_eq(p.n_symbols, 10);
    cr_assert_eq(p.alphabet, 8);
}
