/* runner.c: `rnnbench run` and the grid loop shared with `rnnbench train`.
   Parallelism is over runs only: each run is single-threaded (BLAS too) and
   owns its data, so its numbers do not depend on the thread count or the
   order runs happen to finish in. Results are written by one thread at a
   time (HDF5 is not used concurrently). Under mpirun (make MPI=1) the grid
   loop alone is replaced by mpi_run.c's, through the GridLoop pieces. */
#include "runner.h"
#include "results.h"
#include "train.h"
#include "util.h"

#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <errno.h>
#include <malloc.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#ifdef RNNBENCH_MPI
#include "mpi_run.h"
#endif

/* The one piece of process-wide state: set by SIGINT/SIGTERM, read by the
   grid loop and by every run between steps, so that Ctrl-C stops cleanly:
   finished runs are already on disk, runs in flight are dropped. */
static volatile sig_atomic_t stop_signal;

static void on_signal(int sig) { stop_signal = sig; }

/* SIGINT and SIGTERM are blocked in every thread that trains (the mask is
   inherited by the OpenMP threads created later) and taken by one small
   thread in sigwait: a signal arriving inside oneDNN's JIT GEMM code on a
   training thread corrupted its heap (-j 2, glibc "corrupted size vs.
   prev_size"). Threads started earlier by a library keep the handler, which
   only sets the flag. */
static void *signal_thread(void *arg) {
    sigset_t *set = arg;
    int sig;
    while (sigwait(set, &sig) == 0) stop_signal = sig;
    return NULL;
}

static void install_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    static sigset_t set; /* read by the signal thread for the life of the process */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_t th;
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) == 0 && pthread_create(&th, NULL, signal_thread, &set) == 0)
        pthread_detach(th);
    else
        pthread_sigmask(SIG_UNBLOCK, &set, NULL); /* fall back to the handler alone */
}

static void fmt_time(double s, char *out, size_t n) {
    if (!isfinite(s) || s < 0) { snprintf(out, n, "--:--"); return; }
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(out, n, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
    else snprintf(out, n, "%02ld:%02ld", t / 60, t % 60);
}

typedef struct GridState GridState;

/* a run in flight, as the progress line shows it: which run, and what its
   training thread publishes (train_run_watched) */
typedef struct {
    const RunConfig *cfg; /* NULL: the slot is free */
    double cost;          /* its estimated cost (the scheduler's) */
    TrainWatch watch;
} Flight;

typedef struct {
    int tty, quiet;
    int total, done_before, done;
    int threads, todo, ended; /* workers, runs to do, runs ended (finished, failed or cancelled) */
    double t0, cost_total, cost_done;
    double last_line;   /* when the last plain line was printed */
    int printed;        /* a plain line was printed */
    Flight *flight;     /* one per training thread of this process (n_flight), or NULL */
    int n_flight;
} Progress;

/* seconds between two plain progress lines (stderr not a terminal) */
#define PROGRESS_PLAIN_INTERVAL_S 5

/* Runs in flight: with dynamic scheduling every worker is busy while runs
   remain, so this is the workers' count capped by what is left (a count of
   runs between start and end reads one too low each time a run ends, just
   before the worker takes the next). */
static int progress_running(const Progress *p) {
    int left = p->todo - p->ended;
    return left < p->threads ? left : p->threads;
}

/* "lstm-peep adding 100: step 340/1000, loss 0.0521, ETA 00:12" for a run
   in flight (its ETA from its own pace; a run that stops when solved may
   end sooner), or compact "lstm-peep adding 100 340/1000 0.0521"; its share
   of its budget done into *share */
void progress_flight_text(const RunConfig *cfg, const TrainWatch *w, double now, int compact, char *out,
                          size_t n, double *share) {
    long step = w->step, last = w->last_step;
    double started = w->started, loss = w->loss;
    *share = last > 0 ? (double)step / (double)last : 0;
    int len = snprintf(out, n, "%s %s %d", cfg->cell, cfg->task, cfg->task_params.delay);
    if (len < 0 || (size_t)len >= n) return;
    if (last <= 0 || step <= 0) {
        snprintf(out + len, n - (size_t)len, ": starting");
        return;
    }
    char eta_s[48];
    fmt_time((now - started) / (double)step * (double)(last - step), eta_s, sizeof eta_s);
    if (compact) /* a terminal line has room for little */
        snprintf(out + len, n - (size_t)len, " %ld/%ld %.3g", step, last, loss);
    else
        snprintf(out + len, n - (size_t)len, ": step %ld/%ld, loss %.4g, ETA %s", step, last, loss, eta_s);
}

/* the runs in flight, "; "-separated, at most `most` of them spelled out
   (then "+K more"); the sum of their shares of their budgets into *partial,
   and of their costs done into *cost_partial */
static void progress_flights(const Progress *p, int most, char *out, size_t n, double *partial,
                             double *cost_partial) {
    size_t len = 0;
    int shown = 0, more = 0;
    double now = now_s();
    *partial = *cost_partial = 0;
    out[0] = '\0';
    for (int i = 0; i < p->n_flight; i++) {
        const RunConfig *cfg = p->flight[i].cfg;
        if (!cfg) continue;
        char one[256];
        double share;
        progress_flight_text(cfg, &p->flight[i].watch, now, p->tty, one, sizeof one, &share);
        *partial += share;
        *cost_partial += share * p->flight[i].cost;
        if (shown == most) {
            more++;
            continue;
        }
        if (len < n) len += (size_t)snprintf(out + len, n - len, "%s%s", shown ? "; " : "", one);
        shown++;
    }
    if (more && len < n) snprintf(out + len, n - len, "; +%d more", more);
}

/* the terminal's width in columns (80 when it does not say) */
static int terminal_columns(void) {
    struct winsize ws;
    if (ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20) return ws.ws_col;
    return 80;
}

static void progress_show(Progress *p, int final) {
    if (p->quiet) return;
    double el = now_s() - p->t0;
    char el_s[48], eta_s[48], flights[1024];
    int done = p->done_before + p->done;
    double partial, cost_partial;
    progress_flights(p, p->tty ? 2 : 8, flights, sizeof flights, &partial, &cost_partial);
    /* ETA from the share of estimated cost done (the runs in flight's part
       of theirs included), not the run count: runs go longest first */
    double cost_done = p->cost_done + cost_partial;
    double eta = cost_done > 0 ? el * (p->cost_total - cost_done) / cost_done : NAN;
    fmt_time(el, el_s, sizeof el_s);
    fmt_time(eta, eta_s, sizeof eta_s);
    if (p->tty) {
        /* the bar moves within runs too: a single long run (`train`) fills it */
        int width = 16, fill = p->total ? (int)(width * (done + partial) / p->total) : width;
        char bar[32], line[1400];
        for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
        bar[width] = '\0';
        snprintf(line, sizeof line, "[%s] %d/%d runs, %d running, %s, ETA %s%s%s", bar, done, p->total,
                 progress_running(p), el_s, eta_s, flights[0] ? " | " : "", flights);
        /* one terminal line: a wrapped one would not return under \r (bytes,
           not characters: the line is ASCII but for a cell name) */
        int cols = terminal_columns();
        if ((int)strlen(line) >= cols) line[cols - 1] = '\0';
        /* \033[K clears what a longer line before left */
        fprintf(stderr, "\r%s\033[K", line); /* run_experiment ends the line */
    } else {
        /* a log file gets the first line, then one every few seconds (not
           one per run), and the last */
        if (!final && p->printed && done < p->total && el - p->last_line < PROGRESS_PLAIN_INTERVAL_S) return;
        p->last_line = el;
        p->printed = 1;
        fprintf(stderr, "rnnbench: %d/%d runs done, %d running, elapsed %s, ETA %s%s%s%s\n", done, p->total,
                progress_running(p), el_s, eta_s, flights[0] ? " (" : "", flights, flights[0] ? ")" : "");
    }
    fflush(stderr);
}

/* 0 when everything printed reached standard output (a full disk, a
   closed pipe and /dev/full are errors, not silence); else 1, with a line */
static int stdout_ok(const char *cmd) {
    if (fflush(stdout) == 0 && !ferror(stdout)) return 0;
    fprintf(stderr, "rnnbench %s: cannot write to standard output: %s\n", cmd, strerror(errno));
    return 1;
}

static int cmp_todo(const void *a, const void *b) {
    const Todo *x = a, *y = b;
    if (x->cost != y->cost) return x->cost < y->cost ? 1 : -1; /* longest first */
    return x->index - y->index;
}

/* ------------------------------------------------------------------------- */
/* threads */

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int go;
} Gate;

static void *wait_at_gate(void *arg) {
    Gate *g = arg;
    /* a first malloc gives the thread its glibc arena (64 MiB of address
       space), as a training thread's would */
    void *first = malloc(64);
    pthread_mutex_lock(&g->mu);
    while (!g->go) pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
    free(first);
    return NULL;
}

/* How many of `want` threads the process can have at once (up to want).
   libgomp aborts the whole process, without a word, when it cannot start a
   thread (a memory limit, a thread limit): so they are tried here first,
   all alive together, with the same default stack. */
static int threads_available(int want) {
    pthread_t *th = malloc((size_t)want * sizeof *th);
    if (!th) return 1;
    Gate g = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
    int started = 0;
    while (started < want - 1 && pthread_create(&th[started], NULL, wait_at_gate, &g) == 0) started++;
    pthread_mutex_lock(&g.mu);
    g.go = 1;
    pthread_cond_broadcast(&g.cv);
    pthread_mutex_unlock(&g.mu);
    for (int i = 0; i < started; i++) pthread_join(th[i], NULL);
    free(th);
    return started + 1; /* and the calling thread */
}

/* the index of a running grid follows its runs within
   RESULTS_INDEX_INTERVAL_S, even when no run finishes to write it */
typedef struct {
    Results *rs;
    volatile int stop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
} Flusher;

static void *flush_loop(void *arg) {
    Flusher *fl = arg;
    pthread_mutex_lock(&fl->mu);
    while (!fl->stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 250000000L;
        if (until.tv_nsec >= 1000000000L) { until.tv_sec++; until.tv_nsec -= 1000000000L; }
        pthread_cond_timedwait(&fl->cv, &fl->mu, &until);
        if (fl->stop) break;
        char err[1400];
        /* a failure here is met again, and reported, by the next results_add or the finish */
        results_flush(fl->rs, RESULTS_INDEX_INTERVAL_S, err, sizeof err);
    }
    pthread_mutex_unlock(&fl->mu);
    return NULL;
}

static void flusher_stop(Flusher *fl, pthread_t th, int started) {
    if (!started) return;
    pthread_mutex_lock(&fl->mu);
    fl->stop = 1;
    pthread_cond_signal(&fl->cv);
    pthread_mutex_unlock(&fl->mu);
    pthread_join(th, NULL);
}

/* ------------------------------------------------------------------------- */
/* the grid loop's pieces (runner.h) */

struct GridState {
    Progress prog;
    pthread_mutex_t mu; /* the progress line and the runs in flight: training threads and the ticker */
    int failed_runs;
    int io_failed; /* read and written atomically: threads outside the progress section read it */
};

/* the progress line redrawn every PROGRESS_TICK_S (rate-limited again for
   a log), so that a long run is seen to move between two runs' ends */
#define PROGRESS_TICK_S 1
typedef struct {
    GridState *st;
    int stop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
} Ticker;

static void *tick_loop(void *arg) {
    Ticker *tk = arg;
    pthread_mutex_lock(&tk->mu);
    while (!tk->stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += PROGRESS_TICK_S;
        pthread_cond_timedwait(&tk->cv, &tk->mu, &until);
        if (tk->stop) break;
        pthread_mutex_lock(&tk->st->mu);
        progress_show(&tk->st->prog, 0);
        pthread_mutex_unlock(&tk->st->mu);
    }
    pthread_mutex_unlock(&tk->mu);
    return NULL;
}

static void ticker_stop(Ticker *tk, pthread_t th, int started) {
    if (!started) return;
    pthread_mutex_lock(&tk->mu);
    tk->stop = 1;
    pthread_cond_signal(&tk->cv);
    pthread_mutex_unlock(&tk->mu);
    pthread_join(th, NULL);
}

int grid_stopping(const GridLoop *g) {
    int stop;
#pragma omp atomic read
    stop = g->state->io_failed;
    return stop || *g->signal;
}

void grid_set_slots(GridLoop *g, int slots) {
    pthread_mutex_lock(&g->state->mu);
    g->state->prog.threads = slots;
    pthread_mutex_unlock(&g->state->mu);
}

void grid_ended(GridLoop *g, int k, int rc, const char *run_error, int wrc, const char *werr) {
    GridState *st = g->state;
    const RunConfig *cfg = &g->ex->runs[g->todo[k].index];
    pthread_mutex_lock(&st->mu);
    {
        st->prog.ended++;
        if (rc == -1) {
            st->failed_runs++;
            fprintf(stderr, "%srnnbench: run %s (%s on %s, delay %d) failed: %s (recorded; the next run of this command retries it)\n",
                    st->prog.tty ? "\n" : "", cfg->id, cfg->cell, cfg->task, cfg->task_params.delay, run_error);
        }
        if (wrc != 0 && !st->io_failed) {
            fprintf(stderr, "%srnnbench: %s; stopping the grid (finished runs are kept in %s)\n",
                    st->prog.tty ? "\n" : "", werr, g->opt->out);
#pragma omp atomic write
            st->io_failed = 1;
        }
        if (rc != 1) { /* a cancelled run is not kept */
            st->prog.done += rc == 0;
            st->prog.cost_done += g->todo[k].cost;
        }
        progress_show(&st->prog, st->prog.ended == g->n_todo); /* the last line always, failures included */
    }
    pthread_mutex_unlock(&st->mu);
}

int grid_train_here(GridLoop *g, int k) {
    const RunConfig *cfg = &g->ex->runs[g->todo[k].index];
    GridState *st = g->state;
    /* this thread's slot of the runs in flight (none past the slots made) */
    int slot = -1;
#ifdef _OPENMP
    slot = omp_get_thread_num();
#else
    slot = 0;
#endif
    Flight *fl = slot >= 0 && slot < st->prog.n_flight ? &st->prog.flight[slot] : NULL;
    if (fl) {
        pthread_mutex_lock(&st->mu);
        fl->watch.last_step = fl->watch.step = 0;
        fl->cost = g->todo[k].cost;
        fl->cfg = cfg;
        pthread_mutex_unlock(&st->mu);
    }
    RunResult r;
    int rc = train_run_watched(cfg, &r, g->signal, fl ? &fl->watch : NULL);
    if (fl) {
        pthread_mutex_lock(&st->mu);
        fl->cfg = NULL;
        pthread_mutex_unlock(&st->mu);
    }
    char werr[1400] = "";
    int io_stopped;
#pragma omp atomic read
    io_stopped = g->state->io_failed;
    /* written outside the progress section: results_add takes its own lock */
    int wrc = rc == 1 || io_stopped ? 0 : results_add(g->rs, &r, g->todo[k].index, werr, sizeof werr);
    grid_ended(g, k, rc, r.error, wrc, werr);
    run_result_free(&r);
    return rc;
}

/* The runs still to do (all when rs is NULL), longest first by estimated
   cost; NULL when out of memory. n_retry counts those recorded as failed. */
static Todo *schedule(const Experiment *ex, Results *rs, int *n_todo, int *n_retry,
                      double *cost_total) {
    Todo *todo = malloc((size_t)(ex->n_runs > 0 ? ex->n_runs : 1) * sizeof(Todo));
    *n_todo = *n_retry = 0;
    *cost_total = 0;
    if (!todo) return NULL;
    for (int i = 0; i < ex->n_runs; i++) {
        if (rs && results_done(rs, i)) continue;
        if (rs) *n_retry += rs->row_of[i] >= 0; /* recorded, but failed */
        todo[*n_todo].index = i;
        todo[*n_todo].cost = config_cost(&ex->runs[i]);
        *cost_total += todo[*n_todo].cost;
        (*n_todo)++;
    }
    qsort(todo, *n_todo, sizeof(Todo), cmp_todo);
    return todo;
}

static int run_here(const Experiment *ex, const RunOptions *opt) {
    Results rs;
    char err[1400] = "";
    int status;
    if (results_open(&rs, opt->out, ex, opt->force, err, sizeof err, &status) != 0) {
        print_error("rnnbench: %s", err);
        return status;
    }
    if (rs.grown) /* said even with --quiet: runs may have left the grid */
        fprintf(stderr, "rnnbench: %s holds another version of this experiment: kept %d, new %d, dropped %d%s\n",
                opt->out, rs.n_finished, ex->n_runs - rs.n_finished, rs.n_dropped,
                rs.n_dropped ? " (the dropped runs stay in the file, under /dropped)" : "");
    int n_todo, n_retry;
    double cost_total;
    Todo *todo = schedule(ex, &rs, &n_todo, &n_retry, &cost_total);
    if (!todo) { fprintf(stderr, "rnnbench: out of memory\n"); results_close(&rs); return 1; }
    int threads = opt->threads;
#ifdef _OPENMP
    if (threads <= 0) threads = omp_get_max_threads();
#endif
    if (threads <= 0) threads = 1;
    if (threads > n_todo && n_todo > 0) threads = n_todo;
    if (threads > 1) {
        struct rlimit as;
        /* under an address-space limit, glibc's arena per thread (64 MiB
           reserved each, up to 8 per core) would take most of it: the runs
           allocate only before their time loops, so one arena serves them */
        if (getrlimit(RLIMIT_AS, &as) == 0 && as.rlim_cur != RLIM_INFINITY) mallopt(M_ARENA_MAX, 1);
        int can = threads_available(threads);
        if (can < threads) {
            /* half of what fits: the runs need memory of their own beside the threads */
            int use = can / 2 > 1 ? can / 2 : 1;
            fprintf(stderr, "rnnbench: could start only %d of the %d threads asked for (memory or thread limit); "
                            "running with %d to leave memory for the runs\n", can, threads, use);
            threads = use;
        }
    }
    Progress prog = {.tty = isatty(2), .quiet = opt->quiet, .total = ex->n_runs, .done_before = rs.n_finished,
                     .threads = threads, .todo = n_todo, .t0 = now_s(), .cost_total = cost_total};
    if (!opt->quiet && rs.n_rows > 0 && n_todo > 0 && !rs.grown)
        fprintf(stderr, "rnnbench: resuming %s: %d of %d runs already finished%s\n", opt->out, rs.n_finished,
                ex->n_runs, n_retry ? "; retrying the ones that failed" : "");
    /* a slot per training thread (under MPI rank 0's team has one thread
       more, for the messages); without the memory, no runs in flight shown */
    prog.n_flight = threads + 1;
    prog.flight = calloc((size_t)prog.n_flight, sizeof(Flight));
    if (!prog.flight) prog.n_flight = 0;
    GridState st = {prog, PTHREAD_MUTEX_INITIALIZER, 0, 0};
    GridLoop grid = {ex, opt, &rs, todo, n_todo, threads, &stop_signal, &st};
    Flusher fl = {&rs, 0, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER};
    pthread_t flush_th, tick_th;
    int flusher_started = n_todo > 0 && pthread_create(&flush_th, NULL, flush_loop, &fl) == 0;
    Ticker tk = {&st, 0, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER};
    int ticker_started = n_todo > 0 && !opt->quiet && pthread_create(&tick_th, NULL, tick_loop, &tk) == 0;
    if (n_todo > 0) { /* the first line as the runs start */
        pthread_mutex_lock(&st.mu);
        progress_show(&st.prog, 0);
        pthread_mutex_unlock(&st.mu);
    }

#ifdef RNNBENCH_MPI
    if (mpi_ranks() > 1) mpi_coordinate(&grid);
    else
#endif
    {
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
        for (int k = 0; k < n_todo; k++)
            if (!grid_stopping(&grid)) grid_train_here(&grid, k);
    }
    ticker_stop(&tk, tick_th, ticker_started);
    flusher_stop(&fl, flush_th, flusher_started);
    free(st.prog.flight);
    free(todo);
    if (!opt->quiet && prog.tty && n_todo > 0) fputc('\n', stderr);
    int failed_runs = st.failed_runs, io_failed = st.io_failed;
    if (stop_signal || io_failed) {
        /* the index as of now (a failure here leaves the parts, which resume reads) */
        results_flush(&rs, 0, err, sizeof err);
    }
    if (stop_signal) {
        int sig = stop_signal;
        fprintf(stderr, "rnnbench: interrupted by %s; %d of %d runs are finished and saved in %s\n"
                        "rnnbench: run the same command again to resume.\n",
                sig == SIGINT ? "SIGINT" : "SIGTERM", rs.n_finished, ex->n_runs, opt->out);
        results_close(&rs);
        return 128 + sig;
    }
    if (io_failed) {
        results_close(&rs);
        fprintf(stderr, "rnnbench: fix the output location, then run the same command again to resume\n");
        return 1;
    }
    if (results_finish(&rs, err, sizeof err) != 0) {
        fprintf(stderr, "rnnbench: %s (the runs are safe in %s.parts; run again to retry)\n", err, opt->out);
        results_close(&rs);
        return 1;
    }
    results_close(&rs);
    ResultsView view;
    if (results_read(opt->out, &view, err, sizeof err) != 0) {
        fprintf(stderr, "rnnbench: %s\n", err);
        return 1;
    }
    results_print_table(&view, stdout);
    printf("results: %s\n", opt->out);
    int any_failed = failed_runs || view.n_failed;
    results_view_free(&view);
    if (stdout_ok("run") != 0) return 1;
    return any_failed ? 1 : 0;
}

int run_experiment(const Experiment *ex, const RunOptions *opt) {
    install_signals();
#ifdef RNNBENCH_MPI
    /* under mpirun: rank 0 runs the grid here (opening, schedule, writing,
       the table) with mpi_coordinate as its loop; the others train for it */
    int started = mpi_start();
    if (started != 0) return started;
    int rc = mpi_rank() > 0 ? mpi_work(ex, opt, &stop_signal) : run_here(ex, opt);
    return mpi_end(rc);
#else
    return run_here(ex, opt);
#endif
}

/* ------------------------------------------------------------------------- */
/* rnnbench run */

static void run_usage(FILE *out) {
    fprintf(out,
            "usage: rnnbench run EXPERIMENT.ini [-o results/NAME.h5] [-j THREADS] [--set KEY=VALUE]...\n"
            "                    [--quiet] [--force] [--plan]\n"
            "Runs every run of the experiment's grid, in parallel across cores (one run per thread),\n"
            "into one HDF5 file (default results/<experiment name>.h5), then prints the comparison\n"
            "table. Running the same command again resumes: finished runs are kept. When the\n"
            "experiment file changed, the finished runs still in its grid are kept, the new ones\n"
            "run, and runs no longer in it stay in FILE under /dropped.\n"
            "  -o FILE      results file\n"
            "  -j N         threads (default: OMP_NUM_THREADS, else all cores)\n"
            "  --set KEY=VALUE  as if `KEY = VALUE` were written in every [grid] section (replacing\n"
            "               its own line of KEY); a list or a distribution as in the file; repeatable\n"
            "  --quiet      no progress line\n"
            "  --force      start over: replace FILE even if it holds another experiment\n"
            "  --plan       list the runs in the order they would start (longest first, by\n"
            "               estimated multiply-adds) and exit; nothing is written\n");
}

/* `run --plan`: the schedule without running it */
static int print_plan(const Experiment *ex) {
    int n_todo, n_retry;
    double total;
    Todo *todo = schedule(ex, NULL, &n_todo, &n_retry, &total);
    if (!todo) { fprintf(stderr, "rnnbench: out of memory\n"); return 1; }
    printf("%-5s %-16s %-24s %-15s %6s %7s %12s\n", "order", "id", "cell", "task", "delay", "hidden",
           "cost (Gmadd)");
    for (int k = 0; k < ex->n_runs; k++) {
        const RunConfig *c = &ex->runs[todo[k].index];
        printf("%-5d %-16s %-24s %-15s %6d %7d %12.3f\n", k + 1, c->id, c->cell, c->task,
               c->task_params.delay, c->hidden, todo[k].cost / 1e9);
    }
    printf("%d runs, %.3f Gmadd in all\n", ex->n_runs, total / 1e9);
    free(todo);
    return stdout_ok("run --plan");
}

int cmd_run(int argc, char **argv) {
    static const struct option opts[] = {{"output", required_argument, 0, 'o'},
                                         {"jobs", required_argument, 0, 'j'},
                                         {"quiet", no_argument, 0, 'q'},
                                         {"force", no_argument, 0, 'f'},
                                         {"plan", no_argument, 0, 'p'},
                                         {"set", required_argument, 0, 's'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    RunOptions ro = {0};
    const char *out = NULL;
    int opt, plan = 0, n_set = 0;
    /* the --set options, in order: argv outlives them */
    const char **set = calloc((size_t)argc, sizeof *set);
    if (!set) { fprintf(stderr, "rnnbench: out of memory\n"); return 1; }
    optind = 1;
    opterr = 0; /* our own one-line messages */
    while ((opt = getopt_long(argc, argv, ":o:j:qh", opts, NULL)) != -1) {
        switch (opt) {
        case 'o': out = optarg; break;
        case 'j': {
            long j;
            if (!parse_long(optarg, 1, 4096, &j)) {
                char why[256];
                why_not_long(optarg, 1, 4096, why, sizeof why);
                print_error("rnnbench run: -j: %s (threads)", why);
                return 2;
            }
            ro.threads = (int)j;
            break;
        }
        case 'q': ro.quiet = 1; break;
        case 'f': ro.force = 1; break;
        case 'p': plan = 1; break;
        case 's': set[n_set++] = optarg; break;
        case 'h': run_usage(stdout); free(set); return 0;
        case '?':
        case ':': print_getopt_error("run", opt, argv); free(set); return 2;
        default: run_usage(stderr); free(set); return 2;
        }
    }
    if (optind != argc - 1) {
        run_usage(stderr);
        free(set);
        return 2;
    }
    Experiment ex;
    char err[2048];
    int loaded = grid_load_set(argv[optind], set, n_set, &ex, err, sizeof err);
    free(set);
    if (loaded != 0) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    if (plan) {
        int rc = print_plan(&ex);
        grid_free(&ex);
        return rc;
    }
    char def_out[1200];
    if (!out) {
        snprintf(def_out, sizeof def_out, "results/%s.h5", ex.name);
        out = def_out;
    }
    ro.out = out;
    int rc = run_experiment(&ex, &ro);
    grid_free(&ex);
    return rc;
}

/* ------------------------------------------------------------------------- */
/* rnnbench show */

int cmd_show(int argc, char **argv) {
    if (argc != 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        int help = argc == 2;
        fprintf(help ? stdout : stderr,
                "usage: rnnbench show FILE.h5\n"
                "Prints the comparison table of a results file, finished or still running.\n");
        return help ? 0 : 2;
    }
    ResultsView v;
    char err[1400];
    if (results_read(argv[1], &v, err, sizeof err) != 0) {
        fprintf(stderr, "rnnbench: %s\n", err);
        return 2; /* a file that is not a readable results file is bad input */
    }
    results_print_table(&v, stdout);
    results_view_free(&v);
    return stdout_ok("show");
}
