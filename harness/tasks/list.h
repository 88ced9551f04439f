/* list.h: the registry of tasks, one line each, in the order `rnnbench list
   tasks` shows them. A task `t` is the file harness/tasks/t.c, which defines
   `const Task task_t` (docs/architecture.md, "Adding a task"). */
TASK(adding)
TASK(copy)
TASK(recall)
TASK(temporal_order)
TASK(multiplication)
TASK(xor)
TASK(reber)
TASK(timing)
TASK(reber_continual)
TASK(adding_stream)
TASK(multiplication_stream)
TASK(jsb)
