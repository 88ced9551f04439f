/* task.h: the tasks of docs/tasks.md: synthetic long-dependency generators
   and data-set tasks (jsb) that read their sequences from a file.

   A task is a generator (params, rng) -> batch of inputs x (T,B,X), targets
   (T,B,Y) and a loss mask (T,B), deterministic in its random stream, plus the
   facts of its definition: the loss kind, the trivial baseline and the solved
   criterion. Training batches come fresh from the run's stream; the held-out
   evaluation set comes from a separate stream (see train.c).

   For cross-entropy tasks the targets are one-hot rows. A batch has one
   length T for all its sequences (tasks whose paper draws a length per
   sequence draw it per batch).

   A data-set task has fixed sequences of varying length: its batches are
   padded to their longest sequence with mask 0 past each sequence's end,
   its training batches are drawn from the train split with the run's
   stream, and its `held_out` entry gives the valid and test splits, which
   replace the generated evaluation set (train.c). */
#ifndef RNNBENCH_TASK_H
#define RNNBENCH_TASK_H

#include "../cells/model.h"
#include "../cells/rng.h"

typedef struct {
    int delay;        /* the delay / length parameter T of docs/tasks.md (>= 1) */
    int n_classes;    /* recall: K (default 4) */
    int form;         /* adding: 0 = modern (U(0,1), sum), 1997 = Hochreiter's form;
                         temporal-order: 0 = 6a (two symbols), 1 = 6b (three) */
    int n_symbols;    /* copy: symbols to recall (default 10) */
    int alphabet;     /* copy: alphabet size (default 8) */
} TaskParams;

void task_params_default(TaskParams *p); /* delay 100, K 4, form 0, copy 10 of 8 */

typedef struct {
    int max_len;      /* longest sequence a batch can have (buffers are sized by it) */
    int X, Y;
    LossKind loss;
} TaskShape;

typedef enum { HELD_OUT_VALID, HELD_OUT_TEST } HeldOutSplit;

/* the fixed held-out sets of a data-set task */
typedef struct {
    /* sequences in the split (>= 1 once check() has accepted the parameters) */
    int (*n_sequences)(const TaskParams *p, HeldOutSplit split);
    /* sequences in the train split: an epoch is that many drawn */
    int (*n_train)(const TaskParams *p);
    /* writes sequences [first, first + B) of the split as one padded batch
       into buffers as generate's; returns its length T */
    int (*batch)(const TaskParams *p, HeldOutSplit split, int first, int B, real *x, real *target,
                 real *mask);
} TaskHeldOut;

typedef struct Task {
    const char *name;
    const char *desc;    /* one line: what it is and where it comes from */
    const char *params;  /* its parameters, e.g. "delay, form=modern|1997" */
    /* 0 on success; -1 with a reason in err when the parameters are invalid */
    int (*check)(const TaskParams *p, char *err, size_t err_len);
    void (*shape)(const TaskParams *p, TaskShape *s);
    /* Writes one batch of B sequences; returns the length T used (<= max_len).
       Buffers are (max_len,B,X), (max_len,B,Y), (max_len,B); only the first T
       steps are meaningful. */
    int (*generate)(const TaskParams *p, Rng *rng, int B, real *x, real *target, real *mask);
    /* loss of the best predictor that ignores the dependency, in the units of
       the task's loss; NAN where docs/tasks.md gives none */
    double (*baseline)(const TaskParams *p);
    /* accuracy counts of outputs y (T,B,Y) against one batch: adds the number
       of correct items and of items scored (what an "item" is belongs to the
       task: a sequence, a recalled symbol, ...). The evaluation set is scored
       in several batches and the counts summed. */
    void (*count)(const TaskParams *p, int T, int B, const real *y, const real *target,
                  const real *mask, long *n_correct, long *n_total);
    /* the solved criterion of docs/tasks.md, from the evaluation loss and accuracy */
    int (*solved)(const TaskParams *p, double loss, double accuracy);
    /* data-set tasks only; NULL for a generated task (its evaluation set is
       drawn from the "eval" stream) */
    const TaskHeldOut *held_out;
} Task;

const Task *task_find(const char *name);   /* NULL when unknown */
const Task *const *task_all(int *count);

#endif
