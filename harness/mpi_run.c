/* mpi_run.c: see mpi_run.h. One thread per rank talks MPI (the main
   thread: MPI_THREAD_FUNNELED is all it needs); the training threads never
   do. Nobody waits inside a blocking MPI call: Open MPI spins in them, and a
   spinning rank takes the core of a training thread, so every wait polls
   and sleeps a little. */
#ifdef RNNBENCH_MPI
#include "mpi_run.h"
#include "mpi_image.h"
#include "metrics.h"
#include "train.h"
#include "util.h"

#include <mpi.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

enum { TAG_ASK = 1, TAG_STOP = 2, TAG_EXIT = 3, TAG_REPLY = 16 }; /* a slot's replies: TAG_REPLY + slot */
enum { MSG_ASK, MSG_BEAT, MSG_BYE };
enum { REPLY_STOP = -1, REPLY_WAIT = -2 };

/* what a worker sends rank 0; a finished run's part file follows it in the same message */
typedef struct {
    int32_t kind;
    int32_t slot;
    int32_t run;        /* MSG_ASK: the run index finished in this slot, -1 none */
    int32_t rc;         /* train_run's: 0 ran, -1 failed */
    int32_t slots;      /* the rank's training threads */
    int32_t last;       /* MSG_ASK: this slot asks for nothing more (its rank is stopping): no answer */
    uint64_t hash;      /* the experiment this rank read */
    uint64_t image_len;
    char host[64];
    char error[256];    /* rc -1: why */
} MsgHead;

static int world_rank, world_size = 1, started;
/* MPI_Finalize waits for every rank, the dead ones too (Open MPI 4.1 hung in it now and then
   after a rank died, even with --enable-recovery): rank 0 says at the end whether all lived */
static int finalize_ok = 1;

/* RNNBENCH_MPI_TIMEOUT_S, checked by mpi_start: -1 when set to something else than seconds */
static double timeout_s(void) {
    const char *t = getenv("RNNBENCH_MPI_TIMEOUT_S");
    if (!t) return 60.0;
    char *end;
    double v = strtod(t, &end);
    return end != t && *end == '\0' && v > 0 && v <= 86400 ? v : -1;
}

static void nap(double s) {
    struct timespec ts = {(time_t)s, (long)((s - floor(s)) * 1e9)};
    nanosleep(&ts, NULL);
}

int mpi_rank(void) { return world_rank; }
int mpi_ranks(void) { return world_size; }

int mpi_start(void) {
    /* launched by an MPI launcher, or a plain process (run as on one machine) */
    static const char *launched[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"};
    int any = 0;
    for (size_t i = 0; i < sizeof launched / sizeof *launched; i++) any |= getenv(launched[i]) != NULL;
    if (!any) return 0;
    int provided;
    if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
        fprintf(stderr, "rnnbench: MPI_Init_thread failed: cannot start MPI\n");
        return 1;
    }
    started = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &world_size);
    /* a message to a rank that died is an error to live with, not the end of the job */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    if (provided < MPI_THREAD_FUNNELED) {
        fprintf(stderr, "rnnbench: this MPI gives no thread support (MPI_THREAD_FUNNELED needed)\n");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    if (timeout_s() < 0) { /* every rank reads the same environment: each stops, rank 0 says why */
        if (world_rank == 0)
            fprintf(stderr, "rnnbench: RNNBENCH_MPI_TIMEOUT_S=%s: expected seconds, more than 0 and at most 86400\n",
                    getenv("RNNBENCH_MPI_TIMEOUT_S"));
        MPI_Finalize();
        started = 0;
        return 2;
    }
    return 0;
}

/* the training threads of this rank: -j, else OMP_NUM_THREADS or the cores it may use */
static int rank_threads(const RunOptions *opt) {
    int t = opt->threads;
#ifdef _OPENMP
    if (t <= 0) t = omp_get_max_threads();
#endif
    return t > 0 ? t : 1;
}

/* ========================================================================= */
/* rank 0 */

enum { RUN_QUEUED, RUN_OUT, RUN_TAKEN, RUN_ENDED }; /* TAKEN: received, being written */
enum { RANK_ALIVE, RANK_LOST, RANK_GONE };

/* a finished run on its way to the writer thread */
typedef struct Item {
    struct Item *next;
    int k, rc, quit;
    char *image;    /* NULL: record the run as failed with error */
    size_t len;
    char error[400];
} Item;

typedef struct {
    GridLoop *g;
    int n;                  /* runs (g->n_todo; 0 when there is no grid) */
    char *state;            /* per k */
    int *owner;             /* per k: the rank it is out to */
    unsigned char *lost_with; /* per k: ranks lost while it ran there */
    int *k_of;              /* per run index: its k, -1 */
    int next, *requeued, n_requeued;
    int ended;              /* runs whose end was reported */
    int local_slots;
    int hold_rank, hold_for, handed_hold; /* RNNBENCH_MPI_TEST_DIE=RANK:N: N runs to RANK before any other */
    /* ranks */
    double *heard;
    char *rank_state;
    int *rank_slots;
    char (*host)[64];
    /* deferred answers: (rank, slot) waiting for a run that may come back */
    int (*waiting)[2], n_waiting, cap_waiting;
    double waiting_beat;
    /* the writer */
    Item *head, *tail;
    int queued, queued_max;
    double writer_busy_s;
    /* counters for the closing line */
    long long messages, bytes;
    int largest, received;
    double handle_s;
    pthread_mutex_t mu;
    pthread_cond_t cv;      /* local trainers and the writer wait here */
} Coord;

static int all_ended(Coord *c) { return c->ended == c->n; }

static int stopping(Coord *c) { return c->g ? grid_stopping(c->g) : 1; }

/* the next run for rank (longest first, re-queued ones before); -1 none now. Under c->mu. */
static int take(Coord *c, int rank) {
    if (stopping(c)) return -1;
    /* the test hook's rank gets its runs first, so that it surely dies with one in flight */
    if (c->hold_for > 0 && rank != c->hold_rank && c->handed_hold < c->hold_for && c->next < c->n) return -1;
    int k = -1;
    while (c->n_requeued > 0 && k < 0) {
        int q = c->requeued[--c->n_requeued];
        if (c->state[q] == RUN_QUEUED) k = q;
    }
    while (k < 0 && c->next < c->n) {
        int q = c->next++;
        if (c->state[q] == RUN_QUEUED) k = q;
    }
    if (k >= 0) {
        c->state[k] = RUN_OUT;
        c->owner[k] = rank;
        if (c->hold_for > 0 && rank == c->hold_rank && ++c->handed_hold == c->hold_for)
            pthread_cond_broadcast(&c->cv); /* the hold ends: rank 0's trainers may take runs */
    }
    return k;
}

static void push_item(Coord *c, Item *it) {
    pthread_mutex_lock(&c->mu);
    it->next = NULL;
    if (c->tail) c->tail->next = it;
    else c->head = it;
    c->tail = it;
    if (++c->queued > c->queued_max && !it->quit) c->queued_max = c->queued;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

/* a run of the grid recorded as failed without its records (its rank was lost) */
static int record_failed(GridLoop *g, int k, const char *why, char *err, size_t n) {
    RunResult r;
    memset(&r, 0, sizeof r);
    r.cfg = g->ex->runs[g->todo[k].index];
    metrics_reset(&r);
    snprintf(r.status, sizeof r.status, "failed");
    snprintf(r.error, sizeof r.error, "%.250s", why);
    int rc = results_add(g->rs, &r, g->todo[k].index, err, n);
    run_result_free(&r);
    return rc;
}

/* the writer thread: finished runs into the results, in the order they came */
static void *writer_loop(void *arg) {
    Coord *c = arg;
    for (;;) {
        pthread_mutex_lock(&c->mu);
        while (!c->head) pthread_cond_wait(&c->cv, &c->mu);
        Item *it = c->head;
        c->head = it->next;
        if (!c->head) c->tail = NULL;
        c->queued--;
        pthread_mutex_unlock(&c->mu);
        if (it->quit) { free(it); return NULL; }
        double t0 = now_s();
        char werr[1400] = "";
        int wrc = 0, rc = it->rc;
        if (!grid_stopping(c->g) || *c->g->signal) { /* after a write failure nothing more is written */
            if (it->image) wrc = results_add_image(c->g->rs, it->image, it->len, c->g->todo[it->k].index, werr, sizeof werr);
            else { wrc = record_failed(c->g, it->k, it->error, werr, sizeof werr); rc = -1; }
        }
        grid_ended(c->g, it->k, rc, it->error, wrc, werr);
        pthread_mutex_lock(&c->mu);
        c->state[it->k] = RUN_ENDED;
        c->ended++;
        c->writer_busy_s += now_s() - t0;
        pthread_cond_broadcast(&c->cv);
        pthread_mutex_unlock(&c->mu);
        free(it->image);
        free(it);
    }
}

/* a training thread of rank 0: runs from the same queue, written directly */
static void local_trainer(Coord *c) {
    for (;;) {
        pthread_mutex_lock(&c->mu);
        int k;
        while ((k = take(c, 0)) < 0 && !all_ended(c) && !stopping(c)) pthread_cond_wait(&c->cv, &c->mu);
        pthread_mutex_unlock(&c->mu);
        if (k < 0) return;
        grid_train_here(c->g, k);
        pthread_mutex_lock(&c->mu);
        c->state[k] = RUN_ENDED;
        c->ended++;
        pthread_cond_broadcast(&c->cv);
        pthread_mutex_unlock(&c->mu);
    }
}

static void reply(int rank, int slot, int32_t what) {
    MPI_Send(&what, 1, MPI_INT32_T, rank, TAG_REPLY + slot, MPI_COMM_WORLD);
}

static void requeue(Coord *c, int k) {
    c->state[k] = RUN_QUEUED;
    c->requeued[c->n_requeued++] = k;
}

/* rank r said nothing for too long: its runs go back in the queue, or are
   recorded as failed when a rank was lost with them before */
static void lose_rank(Coord *c, int r, double silent_s) {
    char ids[512] = "";
    size_t len = 0;
    int n_runs = 0;
    pthread_mutex_lock(&c->mu);
    c->rank_state[r] = RANK_LOST;
    for (int k = 0; k < c->n; k++) {
        if (c->state[k] != RUN_OUT || c->owner[k] != r) continue;
        const char *id = c->g->ex->runs[c->g->todo[k].index].id;
        if (len < sizeof ids - 40) len += (size_t)snprintf(ids + len, sizeof ids - len, "%s%s", n_runs ? ", " : "", id);
        n_runs++;
        if (++c->lost_with[k] >= 2) {
            Item *it = calloc(1, sizeof *it);
            if (!it) continue; /* out of memory: left out; resume runs it */
            c->state[k] = RUN_TAKEN;
            it->k = k;
            it->rc = -1;
            snprintf(it->error, sizeof it->error, "two ranks were lost while running it (the last, rank %d on %s)", r, c->host[r]);
            pthread_mutex_unlock(&c->mu);
            push_item(c, it);
            pthread_mutex_lock(&c->mu);
        } else {
            requeue(c, k);
        }
    }
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    fprintf(stderr, "\nrnnbench: rank %d (%s) lost: nothing heard from it for %.0f s (it died, or its node did); "
                    "%s%s%s\n", r, c->host[r], silent_s, n_runs ? "its runs " : "it had no run in flight",
            ids, n_runs ? " go back in the queue (a run lost with two ranks is recorded as failed)" : "");
}

/* one message from a worker */
static void handle(Coord *c, const char *buf, int count, int src) {
    MsgHead h;
    if (count >= (int)sizeof h) memcpy(&h, buf, sizeof h);
    if (count < (int)sizeof h || h.image_len != (uint64_t)count - sizeof h || h.slot < 0) {
        fprintf(stderr, "\nrnnbench: rank %d sent a message of %d bytes that is not rnnbench's (another program, or "
                        "another version of rnnbench, in the same job?); ignored\n", src, count);
        return;
    }
    c->heard[src] = now_s();
    if (c->rank_state[src] == RANK_LOST) {
        fprintf(stderr, "\nrnnbench: rank %d (%s) is back; what it sends is used where still needed\n", src, c->host[src]);
        c->rank_state[src] = RANK_ALIVE;
    }
    if (h.kind == MSG_BEAT) return;
    snprintf(c->host[src], sizeof c->host[src], "%s", h.host);
    if (!c->g) { /* rank 0 has no grid to run: every slot stops */
        if (h.kind == MSG_ASK && !h.last) reply(src, h.slot, REPLY_STOP);
        if (h.kind == MSG_BYE) c->rank_state[src] = RANK_GONE;
        return;
    }
    uint64_t want = experiment_hash(c->g->ex);
    if (h.hash != want) {
        if (c->rank_state[src] != RANK_GONE)
            fprintf(stderr, "\nrnnbench: rank %d (%s) read another experiment (hash %016llx, rank 0: %016llx): is the "
                            "experiment file the same on every node? It gets no runs.\n",
                    src, h.host, (unsigned long long)h.hash, (unsigned long long)want);
        if (h.kind == MSG_ASK && !h.last) reply(src, h.slot, REPLY_STOP);
        if (h.kind == MSG_BYE) c->rank_state[src] = RANK_GONE;
        return;
    }
    pthread_mutex_lock(&c->mu);
    if (h.slots > 0 && h.slots != c->rank_slots[src]) {
        c->rank_slots[src] = h.slots;
        int slots = c->local_slots;
        for (int r = 1; r < world_size; r++) slots += c->rank_slots[r];
        pthread_mutex_unlock(&c->mu);
        if (c->g) grid_set_slots(c->g, slots);
        pthread_mutex_lock(&c->mu);
    }
    Item *it = NULL;
    int k = h.run >= 0 && h.run < c->g->ex->n_runs ? c->k_of[h.run] : -1;
    /* a run's first result is kept (a lost rank's late one, when its run has not
       come back from elsewhere); a cancelled run (rc 1) goes back in the queue */
    if (k >= 0 && h.rc == 1 && c->state[k] == RUN_OUT && c->owner[k] == src) requeue(c, k);
    if (k >= 0 && h.rc != 1 && (c->state[k] == RUN_QUEUED || c->state[k] == RUN_OUT)) {
        it = calloc(1, sizeof *it);
        char *image = it && h.image_len ? malloc(h.image_len) : NULL;
        if (it && (image || !h.image_len)) {
            c->state[k] = RUN_TAKEN;
            c->received++;
            it->k = k;
            it->rc = h.rc;
            it->image = image;
            it->len = h.image_len;
            if (image) memcpy(image, buf + sizeof h, h.image_len);
            else snprintf(it->error, sizeof it->error, "rank %d (%.63s) could not send its records: %.200s", src, h.host, h.error);
            if (h.rc == -1) snprintf(it->error, sizeof it->error, "%s", h.error);
        } else {
            free(it); /* out of memory: the run stays out; the rank's loss or resume runs it again */
            it = NULL;
        }
    }
    int left_early = 0;
    if (h.kind == MSG_BYE) {
        c->rank_state[src] = RANK_GONE;
        for (int q = 0; q < c->n; q++)
            if (c->state[q] == RUN_OUT && c->owner[q] == src) { requeue(c, q); left_early++; }
        left_early |= !all_ended(c) && !stopping(c) && c->next < c->n;
        pthread_cond_broadcast(&c->cv);
    }
    int next = REPLY_STOP, defer = 0, answer = h.kind == MSG_ASK && !h.last;
    if (answer) {
        next = take(c, src);
        if (next < 0 && !stopping(c) && !all_ended(c)) defer = 1;
    }
    if (defer) {
        if (c->n_waiting == c->cap_waiting) {
            int cap = c->cap_waiting ? 2 * c->cap_waiting : 64;
            void *p = realloc(c->waiting, (size_t)cap * sizeof *c->waiting);
            if (p) { c->waiting = p; c->cap_waiting = cap; }
        }
        if (c->n_waiting < c->cap_waiting) {
            c->waiting[c->n_waiting][0] = src;
            c->waiting[c->n_waiting][1] = h.slot;
            c->n_waiting++;
        } else {
            defer = 0; /* out of memory: this slot stops */
        }
    }
    pthread_mutex_unlock(&c->mu);
    /* answered before the run is written: the worker trains while rank 0 writes */
    if (answer && !defer) reply(src, h.slot, next >= 0 ? c->g->todo[next].index : REPLY_STOP);
    if (it) push_item(c, it);
    if (left_early)
        fprintf(stderr, "\nrnnbench: rank %d (%s) left before the grid ended (stopped by a signal?); the runs it had "
                        "in flight go back in the queue\n", src, c->host[src]);
}

/* the slots waiting for a run: one each for the runs back in the queue,
   "stop" once there will be none, "wait" now and then so they know rank 0 lives */
static void answer_waiting(Coord *c, double beat_s) {
    int now_beat = now_s() - c->waiting_beat >= beat_s;
    if (now_beat) c->waiting_beat = now_s();
    for (int i = 0; i < c->n_waiting;) {
        int r = c->waiting[i][0], slot = c->waiting[i][1];
        if (c->rank_state[r] == RANK_LOST) { i++; continue; } /* answered if it comes back */
        int gone = c->rank_state[r] == RANK_GONE;
        pthread_mutex_lock(&c->mu);
        int k = gone ? -1 : take(c, r), end = gone || (k < 0 && (stopping(c) || all_ended(c)));
        pthread_mutex_unlock(&c->mu);
        if (k >= 0 || end) {
            if (!gone) reply(r, slot, k >= 0 ? c->g->todo[k].index : REPLY_STOP);
            c->waiting[i][0] = c->waiting[--c->n_waiting][0];
            c->waiting[i][1] = c->waiting[c->n_waiting][1];
            continue;
        }
        if (now_beat) reply(r, slot, REPLY_WAIT);
        i++;
    }
}

/* receives what has arrived; 1 when there was something */
static int poll_messages(Coord *c, char **buf, int *cap) {
    int flag = 0, any = 0;
    MPI_Status st;
    while (MPI_Iprobe(MPI_ANY_SOURCE, TAG_ASK, MPI_COMM_WORLD, &flag, &st) == MPI_SUCCESS && flag) {
        int count = 0;
        MPI_Get_count(&st, MPI_BYTE, &count);
        if (count > *cap) {
            char *p = realloc(*buf, (size_t)count);
            if (!p) { fprintf(stderr, "rnnbench: out of memory receiving a run of %d bytes\n", count); return any; }
            *buf = p;
            *cap = count;
        }
        double t0 = now_s();
        MPI_Recv(*buf, count, MPI_BYTE, st.MPI_SOURCE, TAG_ASK, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        c->messages++;
        c->bytes += count;
        if (count > c->largest) c->largest = count;
        handle(c, *buf, count, st.MPI_SOURCE);
        c->handle_s += now_s() - t0;
        any = 1;
    }
    return any;
}

/* the coordinator's loop: until every run ended (or the grid stops) and every rank is gone or lost */
static void coordinate(Coord *c) {
    double limit = timeout_s(), beat = limit / 8, idle = 0.0005, last_check = now_s();
    char *buf = NULL;
    int cap = 0, told_stop = 0;
    for (;;) {
        int any = poll_messages(c, &buf, &cap);
        double now = now_s();
        if (now - last_check >= 0.1) {
            last_check = now;
            for (int r = 1; r < world_size; r++)
                if (c->rank_state[r] == RANK_ALIVE && now - c->heard[r] > limit) lose_rank(c, r, now - c->heard[r]);
        }
        if (stopping(c) && !told_stop) {
            told_stop = 1;
            int32_t stop = 1;
            for (int r = 1; r < world_size; r++)
                if (c->rank_state[r] != RANK_GONE) MPI_Send(&stop, 1, MPI_INT32_T, r, TAG_STOP, MPI_COMM_WORLD);
        }
        answer_waiting(c, beat);
        pthread_mutex_lock(&c->mu);
        int over = all_ended(c) || (stopping(c) && c->queued == 0);
        pthread_mutex_unlock(&c->mu);
        int ranks_left = 0;
        for (int r = 1; r < world_size; r++) ranks_left += c->rank_state[r] == RANK_ALIVE;
        if (over && ranks_left == 0) break;
        if (any) { idle = 0.0005; continue; }
        nap(idle);
        if (idle < 0.01) idle *= 2;
    }
    free(buf);
    /* how every rank that said goodbye ends: MPI_Finalize only when no rank was lost */
    for (int r = 1; r < world_size; r++) finalize_ok &= c->rank_state[r] != RANK_LOST;
    int32_t fin = finalize_ok;
    for (int r = 1; r < world_size; r++)
        if (c->rank_state[r] == RANK_GONE) MPI_Send(&fin, 1, MPI_INT32_T, r, TAG_EXIT, MPI_COMM_WORLD);
}

static int coord_init(Coord *c, GridLoop *g) {
    memset(c, 0, sizeof *c);
    c->g = g;
    c->n = g ? g->n_todo : 0;
    int n = c->n > 0 ? c->n : 1, n_runs = g && g->ex->n_runs > 0 ? g->ex->n_runs : 1;
    c->state = calloc((size_t)n, 1);
    c->owner = calloc((size_t)n, sizeof *c->owner);
    c->lost_with = calloc((size_t)n, 1);
    c->requeued = calloc((size_t)n, sizeof *c->requeued);
    c->k_of = malloc((size_t)n_runs * sizeof *c->k_of);
    c->heard = calloc((size_t)world_size, sizeof *c->heard);
    c->rank_state = calloc((size_t)world_size, 1);
    c->rank_slots = calloc((size_t)world_size, sizeof *c->rank_slots);
    c->host = calloc((size_t)world_size, sizeof *c->host);
    if (!c->state || !c->owner || !c->lost_with || !c->requeued || !c->k_of || !c->heard || !c->rank_state ||
        !c->rank_slots || !c->host) {
        fprintf(stderr, "rnnbench: out of memory for the MPI schedule of %d runs\n", c->n);
        return -1;
    }
    for (int i = 0; i < n_runs; i++) c->k_of[i] = -1;
    const char *die = getenv("RNNBENCH_MPI_TEST_DIE");
    if (die && (sscanf(die, "%d:%d", &c->hold_rank, &c->hold_for) != 2 || c->hold_rank < 1 ||
                c->hold_rank >= world_size || c->hold_for < 1)) {
        fprintf(stderr, "rnnbench: RNNBENCH_MPI_TEST_DIE=%s: expected RANK:N, a worker rank (1 to %d) and a count >= 1\n",
                die, world_size - 1);
        return -1;
    }
    for (int k = 0; k < c->n; k++) c->k_of[g->todo[k].index] = k;
    double now = now_s();
    for (int r = 0; r < world_size; r++) {
        c->heard[r] = now;
        snprintf(c->host[r], sizeof c->host[r], "?");
    }
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    return 0;
}

static void coord_free(Coord *c) {
    free(c->state);
    free(c->owner);
    free(c->lost_with);
    free(c->requeued);
    free(c->k_of);
    free(c->heard);
    free(c->rank_state);
    free(c->rank_slots);
    free(c->host);
    free(c->waiting);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
}

static int coordinated;

void mpi_coordinate(GridLoop *g) {
    coordinated = 1;
    Coord c;
    if (coord_init(&c, g) != 0) MPI_Abort(MPI_COMM_WORLD, 2);
    /* the simulation measures rank 0 as the writer alone */
    c.local_slots = getenv("RNNBENCH_MPI_SIMULATE") ? 0 : g->threads;
    pthread_t writer;
    if (pthread_create(&writer, NULL, writer_loop, &c) != 0) {
        fprintf(stderr, "rnnbench: cannot start the writer thread\n");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    double t0 = now_s();
    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    /* thread 0 (this, the main thread: the only one that calls MPI) coordinates; the others train */
#pragma omp parallel num_threads(c.local_slots + 1)
    {
#ifdef _OPENMP
        int me = omp_get_thread_num();
#else
        int me = 0;
#endif
        if (me == 0) {
            coordinate(&c);
            pthread_mutex_lock(&c.mu);
            pthread_cond_broadcast(&c.cv); /* trainers waiting for a run that will not come */
            pthread_mutex_unlock(&c.mu);
        } else {
            local_trainer(&c);
        }
    }
    Item *quit = calloc(1, sizeof *quit);
    if (quit) { quit->quit = 1; push_item(&c, quit); pthread_join(writer, NULL); }
    getrusage(RUSAGE_SELF, &ru1);
    double wall = now_s() - t0;
    double cpu = (ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) + (ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
                 1e-6 * ((ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) + (ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec));
    if (!g->opt->quiet || getenv("RNNBENCH_MPI_STATS")) {
        int slots = c.local_slots;
        for (int r = 1; r < world_size; r++) slots += c.rank_slots[r];
        fprintf(stderr, "rnnbench: mpi: %d ranks, %d training threads; %d runs from other ranks in %lld messages, %.1f MB "
                        "(largest %.0f kB), %.1f runs/s; writer busy %.1f%% of %.1f s, receiving %.2f%%, at most %d "
                        "waiting to be written; rank 0 used %.1f%% of a core%s\n",
                world_size, slots, c.received, c.messages, c.bytes / 1e6, c.largest / 1e3, wall > 0 ? c.ended / wall : 0,
                wall > 0 ? 100 * c.writer_busy_s / wall : 0, wall, wall > 0 ? 100 * c.handle_s / wall : 0, c.queued_max,
                wall > 0 ? 100 * cpu / wall : 0, c.local_slots ? " (its own training included)" : "");
    }
    coord_free(&c);
}

/* ========================================================================= */
/* ranks > 0 */

enum { SLOT_ASK, SLOT_WAIT, SLOT_TRAIN, SLOT_STOP };

typedef struct {
    int state;
    int run;            /* assigned (SLOT_TRAIN) or finished (SLOT_ASK) run index, -1 */
    int rc;
    char error[256];
    char *image;
    size_t len;
    int32_t answer;
    MPI_Request req;
    double asked_s;
} Slot;

typedef struct {
    const Experiment *ex;
    uint64_t hash;
    Slot *slot;
    int n_slots;
    volatile sig_atomic_t cancel;  /* a signal here, or rank 0 said stop */
    volatile sig_atomic_t *signal;
    int die_after;      /* test hook: the rank kills itself when handed its Nth run */
    int handed;
    double sim_run_s;   /* simulation (RNNBENCH_MPI_SIMULATE): no training, a run takes this long */
    RunResult *sim_template;
    double *sim_due;
    pthread_mutex_t mu;
    pthread_cond_t cv;
} Worker;

static void head_init(MsgHead *h, const Worker *w, int kind) {
    memset(h, 0, sizeof *h);
    h->kind = kind;
    h->run = -1;
    h->slots = w->n_slots;
    h->hash = w->hash;
    gethostname(h->host, sizeof h->host - 1);
}

/* sends buf and waits for it to leave, polling: a dead rank 0 is noticed (-1) */
static int send_polled(const void *buf, int len, int tag, double limit) {
    MPI_Request req;
    if (MPI_Isend(buf, len, MPI_BYTE, 0, tag, MPI_COMM_WORLD, &req) != MPI_SUCCESS) return -1;
    double t0 = now_s(), idle = 0.0002;
    for (;;) {
        int done = 0;
        MPI_Test(&req, &done, MPI_STATUS_IGNORE);
        if (done) return 0;
        if (now_s() - t0 > limit) {
            MPI_Cancel(&req);
            MPI_Request_free(&req);
            return -1;
        }
        nap(idle);
        if (idle < 0.01) idle *= 2;
    }
}

/* a finished run's message: the head, then its part file; asking for the
   next run unless the rank is leaving (then the slot stops) */
static int ask(Worker *w, int s, double limit, int leaving) {
    Slot *sl = &w->slot[s];
    MsgHead h;
    head_init(&h, w, MSG_ASK);
    h.slot = s;
    h.run = sl->run;
    h.rc = sl->rc;
    h.last = leaving;
    snprintf(h.error, sizeof h.error, "%s", sl->error);
    size_t len = sizeof h + (sl->run >= 0 && sl->rc != 1 ? sl->len : 0);
    if (len > (size_t)INT32_MAX) {
        snprintf(h.error, sizeof h.error, "its records are %zu bytes, more than one MPI message holds", sl->len);
        h.rc = -1;
        len = sizeof h;
    }
    char *buf = malloc(len);
    if (!buf) { /* the run is reported failed: rank 0 records it, the next command retries it */
        buf = (char *)&h;
        len = sizeof h;
        h.rc = -1;
        snprintf(h.error, sizeof h.error, "rank %d ran out of memory sending its records", world_rank);
    }
    h.image_len = len - sizeof h;
    if (buf != (char *)&h) memcpy(buf, &h, sizeof h);
    if (h.image_len) memcpy(buf + sizeof h, sl->image, h.image_len);
    if (!leaving) MPI_Irecv(&sl->answer, 1, MPI_INT32_T, 0, TAG_REPLY + s, MPI_COMM_WORLD, &sl->req);
    int rc = send_polled(buf, (int)len, TAG_ASK, limit);
    if (buf != (char *)&h) free(buf);
    free(sl->image);
    sl->image = NULL;
    sl->len = 0;
    sl->run = -1;
    pthread_mutex_lock(&w->mu);
    sl->state = leaving ? SLOT_STOP : SLOT_WAIT;
    pthread_mutex_unlock(&w->mu);
    sl->asked_s = now_s();
    return rc;
}

static void send_small(Worker *w, int kind, double limit) {
    MsgHead h;
    head_init(&h, w, kind);
    send_polled(&h, sizeof h, TAG_ASK, limit);
}

/* a run that is not trained (simulation): the template's records under run idx's settings */
static int sim_result(Worker *w, int idx, RunResult *r) {
    *r = *w->sim_template;
    r->cfg = w->ex->runs[idx];
    return 0;
}

/* simulation: the slots whose run is due have finished it */
static void sim_tick(Worker *w) {
    double now = now_s();
    for (int s = 0; s < w->n_slots; s++) {
        Slot *sl = &w->slot[s];
        if (sl->state != SLOT_TRAIN || now < w->sim_due[s]) continue;
        RunResult r;
        sim_result(w, sl->run, &r);
        char err[256] = "";
        sl->rc = run_image(&r, w->hash, &sl->image, &sl->len, err, sizeof err) == 0 ? 0 : -1;
        snprintf(sl->error, sizeof sl->error, "%s", err);
        sl->state = SLOT_ASK;
    }
}

/* a training thread of a worker rank */
static void worker_trainer(Worker *w, int s) {
    Slot *sl = &w->slot[s];
    for (;;) {
        pthread_mutex_lock(&w->mu);
        while (sl->state != SLOT_TRAIN && sl->state != SLOT_STOP) pthread_cond_wait(&w->cv, &w->mu);
        int idx = sl->state == SLOT_TRAIN ? sl->run : -1;
        pthread_mutex_unlock(&w->mu);
        if (idx < 0) return;
        RunResult r;
        int rc;
        if (w->sim_template) {
            rc = sim_result(w, idx, &r);
        } else {
            rc = train_run(&w->ex->runs[idx], &r, &w->cancel);
        }
        char *image = NULL;
        size_t len = 0;
        char err[256] = "";
        if (rc != 1 && run_image(&r, w->hash, &image, &len, err, sizeof err) != 0) rc = -1;
        pthread_mutex_lock(&w->mu);
        sl->rc = rc;
        snprintf(sl->error, sizeof sl->error, "%s", err[0] ? err : r.error);
        sl->image = image;
        sl->len = len;
        sl->state = SLOT_ASK;
        pthread_cond_broadcast(&w->cv);
        pthread_mutex_unlock(&w->mu);
        if (!w->sim_template) run_result_free(&r);
    }
}

/* the worker's MPI thread: asks for runs, sends them back, beats */
static int worker_comm(Worker *w) {
    double limit = timeout_s(), beat = limit / 8, last_sent = now_s();
    int32_t stop_msg = 0;
    MPI_Request stop_req;
    MPI_Irecv(&stop_msg, 1, MPI_INT32_T, 0, TAG_STOP, MPI_COMM_WORLD, &stop_req);
    int status = 0, stop_seen = 0;
    for (;;) {
        if (*w->signal) w->cancel = 1;
        if (!stop_seen) {
            int got = 0;
            MPI_Test(&stop_req, &got, MPI_STATUS_IGNORE);
            if (got) { stop_seen = 1; w->cancel = 1; }
        }
        if (w->sim_template) sim_tick(w);
        int any = 0, stopped = 0;
        for (int s = 0; s < w->n_slots; s++) {
            Slot *sl = &w->slot[s];
            pthread_mutex_lock(&w->mu);
            int state = sl->state;
            pthread_mutex_unlock(&w->mu);
            if (state == SLOT_ASK) {
                if (ask(w, s, limit, w->cancel) != 0) {
                    fprintf(stderr, "rnnbench: rank %d: rank 0 (the writer) took no message for %.0f s; stopping\n",
                            world_rank, limit);
                    return 1;
                }
                last_sent = now_s();
                any = 1;
            } else if (state == SLOT_WAIT) {
                int got = 0;
                MPI_Test(&sl->req, &got, MPI_STATUS_IGNORE);
                if (!got) {
                    if (now_s() - sl->asked_s > limit) {
                        fprintf(stderr, "rnnbench: rank %d: nothing from rank 0 (the writer) for %.0f s; stopping\n",
                                world_rank, limit);
                        MPI_Cancel(&sl->req);
                        MPI_Request_free(&sl->req);
                        return 1;
                    }
                    continue;
                }
                any = 1;
                if (sl->answer == REPLY_WAIT && !w->cancel) { /* rank 0 lives; ask again later */
                    MPI_Irecv(&sl->answer, 1, MPI_INT32_T, 0, TAG_REPLY + s, MPI_COMM_WORLD, &sl->req);
                    sl->asked_s = now_s();
                    continue;
                }
                pthread_mutex_lock(&w->mu);
                /* a run handed to a rank that is leaving stays out: its goodbye puts it back */
                if (sl->answer >= 0 && sl->answer < w->ex->n_runs && !w->cancel) {
                    sl->run = sl->answer;
                    sl->state = SLOT_TRAIN;
                    if (w->sim_due) /* a slot's own factor in [0.5, 1.5): the golden ratio's fractions */
                        w->sim_due[s] = now_s() + w->sim_run_s * (0.5 + fmod(0.6180339887 * (s + 1), 1.0));
                    if (w->die_after > 0 && ++w->handed == w->die_after) {
                        fprintf(stderr, "rnnbench: rank %d: RNNBENCH_MPI_TEST_DIE: killing this rank with run %s in flight\n",
                                world_rank, w->ex->runs[sl->run].id);
                        fflush(stderr);
                        raise(SIGKILL);
                    }
                } else {
                    sl->state = SLOT_STOP;
                }
                pthread_cond_broadcast(&w->cv);
                pthread_mutex_unlock(&w->mu);
            } else if (state == SLOT_STOP) {
                stopped++;
            }
        }
        if (stopped == w->n_slots) break;
        if (now_s() - last_sent >= beat) {
            send_small(w, MSG_BEAT, limit);
            last_sent = now_s();
        }
        if (any) continue;
        /* a training thread wakes this one when its run ends */
        pthread_mutex_lock(&w->mu);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 5000000L;
        if (until.tv_nsec >= 1000000000L) { until.tv_sec++; until.tv_nsec -= 1000000000L; }
        int ready = 0;
        for (int s = 0; s < w->n_slots; s++) ready |= w->slot[s].state == SLOT_ASK;
        if (!ready) pthread_cond_timedwait(&w->cv, &w->mu, &until);
        pthread_mutex_unlock(&w->mu);
    }
    if (*w->signal)
        fprintf(stderr, "rnnbench: rank %d: interrupted by %s; leaving (rank 0 runs again what it had in flight)\n",
                world_rank, *w->signal == SIGINT ? "SIGINT" : "SIGTERM");
    send_small(w, MSG_BYE, limit);
    if (!stop_seen) {
        MPI_Cancel(&stop_req);
        MPI_Wait(&stop_req, MPI_STATUS_IGNORE);
    }
    /* rank 0 says whether to finalize (no word from it: do not) */
    int32_t fin = 0;
    MPI_Request fin_req;
    MPI_Irecv(&fin, 1, MPI_INT32_T, 0, TAG_EXIT, MPI_COMM_WORLD, &fin_req);
    double t0 = now_s(), idle = 0.0005;
    int got = 0;
    while (!got && now_s() - t0 < limit) {
        MPI_Test(&fin_req, &got, MPI_STATUS_IGNORE);
        if (!got) { nap(idle); if (idle < 0.05) idle *= 2; }
    }
    if (!got) { MPI_Cancel(&fin_req); MPI_Request_free(&fin_req); }
    finalize_ok = got && fin == 1;
    return status;
}

/* RNNBENCH_MPI_SIMULATE=SECONDS_PER_STEP: no training; every slot "trains"
   a run in that many seconds per training step of a real run (the grid's
   first, trained once here: the template), times a factor from 0.5 to 1.5
   that differs by slot (so that the slots do not finish in step), and
   returns the template's records under the assigned run's settings. Rank 0
   (which then trains nothing) sees the messages, their sizes and their rate
   of as many ranks as this one has slots (-j), without their cost. */
static int sim_setup(Worker *w) {
    const char *v = getenv("RNNBENCH_MPI_SIMULATE");
    if (!v) return 0;
    char *end;
    double s = strtod(v, &end);
    if (end == v || *end || !(s >= 0) || s > 1e3) {
        fprintf(stderr, "rnnbench: RNNBENCH_MPI_SIMULATE=%s: expected the seconds per training step (0 to 1000)\n", v);
        return -1;
    }
    w->sim_template = calloc(1, sizeof *w->sim_template);
    w->sim_due = calloc((size_t)w->n_slots, sizeof *w->sim_due);
    if (!w->sim_template || !w->sim_due) return -1;
    double t0 = now_s();
    if (train_run(&w->ex->runs[0], w->sim_template, &w->cancel) != 0) {
        fprintf(stderr, "rnnbench: rank %d: the simulation's template run failed: %s\n", world_rank, w->sim_template->error);
        return -1;
    }
    w->sim_run_s = s * (double)w->sim_template->steps_done;
    fprintf(stderr, "rnnbench: rank %d simulates %d ranks: template run %s trained in %.1f s (%ld steps); "
                    "a simulated run takes %.2f s x 0.5 to 1.5\n",
            world_rank, w->n_slots, w->ex->runs[0].id, now_s() - t0, w->sim_template->steps_done, w->sim_run_s);
    return 0;
}

int mpi_work(const Experiment *ex, const RunOptions *opt, volatile sig_atomic_t *signal) {
    Worker w;
    memset(&w, 0, sizeof w);
    w.ex = ex;
    w.hash = experiment_hash(ex);
    w.signal = signal;
    w.n_slots = rank_threads(opt);
    const char *die = getenv("RNNBENCH_MPI_TEST_DIE"); /* RANK:N */
    int die_rank = 0, die_n = 0;
    if (die && sscanf(die, "%d:%d", &die_rank, &die_n) == 2 && die_rank == world_rank) w.die_after = die_n;
    w.slot = calloc((size_t)w.n_slots, sizeof *w.slot);
    if (!w.slot) { fprintf(stderr, "rnnbench: rank %d: out of memory\n", world_rank); return 1; }
    for (int s = 0; s < w.n_slots; s++) w.slot[s].run = -1;
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    if (sim_setup(&w) != 0) return 1;
    int status = 0;
#pragma omp parallel num_threads(w.sim_template ? 1 : w.n_slots + 1)
    {
#ifdef _OPENMP
        int me = omp_get_thread_num();
#else
        int me = 0;
#endif
        if (me == 0) {
            status = worker_comm(&w);
            if (status != 0) finalize_ok = 0; /* rank 0 is silent: it will not say */
            pthread_mutex_lock(&w.mu);
            w.cancel = 1;
            for (int s = 0; s < w.n_slots; s++) w.slot[s].state = SLOT_STOP;
            pthread_cond_broadcast(&w.cv);
            pthread_mutex_unlock(&w.mu);
        } else {
            worker_trainer(&w, me - 1);
        }
    }
    for (int s = 0; s < w.n_slots; s++) free(w.slot[s].image);
    free(w.slot);
    if (w.sim_template) { run_result_free(w.sim_template); free(w.sim_template); free(w.sim_due); }
    pthread_mutex_destroy(&w.mu);
    pthread_cond_destroy(&w.cv);
    if (*signal) return 128 + *signal;
    return status;
}

/* ========================================================================= */

int mpi_end(int status) {
    if (!started) return status;
    if (world_rank == 0 && !coordinated && world_size > 1) {
        /* rank 0 stopped before its loop: every worker is told to stop */
        Coord c;
        if (coord_init(&c, NULL) == 0) {
            coordinate(&c);
            coord_free(&c);
        }
    }
    if (finalize_ok) MPI_Finalize();
    /* else: exit without it (mpirun --enable-recovery accepts that; without the option a dead
       rank has ended the job already) */
    return status;
}

#endif /* RNNBENCH_MPI */
