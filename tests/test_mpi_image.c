/* test_mpi_image.c: a finished run as the bytes of its part file
   (harness/mpi_image.c, what an MPI worker sends) and rank 0's side of it
   (results_add_image). No MPI needed: this is the part of the MPI path that
   every build has.

   Covers: a run stored from its image gives the same results file as the
   same run stored directly (summary rows and curves byte for byte); an image
   that is cut short, of another run, or of another experiment is refused
   with a one-line reason that names the run, and leaves nothing in the
   parts folder. */
#include <criterion/criterion.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../harness/h5io.h"
#include "../harness/mpi_image.h"
#include "../harness/results.h"
#include "../harness/train.h"

static const char *EXPERIMENT =
    "[experiment]\nname = image\nseed = 7\n\n"
    "[grid]\ntask = adding\ndelay = 3\ncell = rnn, gru\nhidden = 3\nbatch = 2\n"
    "steps = 6\neval_every = 2\neval_size = 4\n";

static void temp_dir(char *dir, size_t n) {
    snprintf(dir, n, "/tmp/rnnbench-image-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void remove_dir(const char *dir) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_expect_eq(system(cmd), 0);
}

/* the float values of dataset name in file path */
static float *read_floats(const char *path, const char *name, hsize_t *n) {
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert_geq(f, 0, "cannot open %s", path);
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    cr_assert_geq(d, 0, "%s has no %s", path, name);
    hid_t s = H5Dget_space(d);
    *n = (hsize_t)H5Sget_simple_extent_npoints(s);
    float *v = malloc(*n * sizeof *v + 1);
    cr_assert_geq(H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v), 0);
    H5Sclose(s);
    H5Dclose(d);
    H5Fclose(f);
    return v;
}

Test(mpi_image, a_run_stored_from_its_image_is_stored_as_a_local_one) {
    char err[1400], dir[64], local[128], sent[128];
    temp_dir(dir, sizeof dir);
    snprintf(local, sizeof local, "%s/local.h5", dir);
    snprintf(sent, sizeof sent, "%s/sent.h5", dir);
    Experiment ex;
    cr_assert_eq(grid_load_string("image.ini", EXPERIMENT, &ex, err, sizeof err), 0, "%s", err);
    RunResult r[2];
    for (int i = 0; i < 2; i++) cr_assert_eq(train_run(&ex.runs[i], &r[i], NULL), 0, "%s", r[i].error);
    Results a, b;
    int status;
    cr_assert_eq(results_open(&a, local, &ex, 0, err, sizeof err, &status), 0, "%s", err);
    cr_assert_eq(results_open(&b, sent, &ex, 0, err, sizeof err, &status), 0, "%s", err);
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(results_add(&a, &r[i], i, err, sizeof err), 0, "%s", err);
        char *image;
        size_t len;
        cr_assert_eq(run_image(&r[i], experiment_hash(&ex), &image, &len, err, sizeof err), 0, "%s", err);
        cr_assert_gt(len, 1000u);
        cr_assert_eq(results_add_image(&b, image, len, i, err, sizeof err), 0, "%s", err);
        free(image);
    }
    cr_assert_eq(results_finish(&a, err, sizeof err), 0, "%s", err);
    cr_assert_eq(results_finish(&b, err, sizeof err), 0, "%s", err);
    results_close(&a);
    results_close(&b);
    ResultsView va, vb;
    cr_assert_eq(results_read(local, &va, err, sizeof err), 0, "%s", err);
    cr_assert_eq(results_read(sent, &vb, err, sizeof err), 0, "%s", err);
    cr_assert_eq(va.n_rows, 2);
    cr_assert_eq(vb.n_rows, 2);
    for (int i = 0; i < 2; i++)
        cr_expect_eq(memcmp(&va.rows[i], &vb.rows[i], sizeof va.rows[i]), 0, "summary row %d differs", i);
    results_view_free(&va);
    results_view_free(&vb);
    for (int i = 0; i < 2; i++) {
        char name[96];
        snprintf(name, sizeof name, "runs/%s/train/loss", ex.runs[i].id);
        hsize_t na, nb;
        float *fa = read_floats(local, name, &na), *fb = read_floats(sent, name, &nb);
        cr_assert_eq(na, (hsize_t)r[i].steps_done);
        cr_assert_eq(na, nb);
        cr_expect_eq(memcmp(fa, fb, na * sizeof *fa), 0, "%s differs", name);
        free(fa);
        free(fb);
        run_result_free(&r[i]);
    }
    grid_free(&ex);
    remove_dir(dir);
}

/* the files of the parts folder of path (there should be none but the index's) */
static int part_files(const char *path) {
    char parts[256];
    snprintf(parts, sizeof parts, "%s.parts", path);
    DIR *d = opendir(parts);
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

Test(mpi_image, a_damaged_or_wrong_image_is_refused) {
    char err[1400], dir[64], out[128];
    temp_dir(dir, sizeof dir);
    snprintf(out, sizeof out, "%s/out.h5", dir);
    Experiment ex;
    cr_assert_eq(grid_load_string("image.ini", EXPERIMENT, &ex, err, sizeof err), 0, "%s", err);
    RunResult r;
    cr_assert_eq(train_run(&ex.runs[0], &r, NULL), 0, "%s", r.error);
    Results rs;
    int status;
    cr_assert_eq(results_open(&rs, out, &ex, 0, err, sizeof err, &status), 0, "%s", err);
    char *image, *other;
    size_t len, other_len;
    cr_assert_eq(run_image(&r, experiment_hash(&ex), &image, &len, err, sizeof err), 0, "%s", err);
    cr_assert_eq(run_image(&r, experiment_hash(&ex) + 1, &other, &other_len, err, sizeof err), 0, "%s", err);

    /* cut short (a message that lost its end) */
    err[0] = '\0';
    cr_expect_eq(results_add_image(&rs, image, len / 2, 0, err, sizeof err), -1);
    cr_expect(strstr(err, ex.runs[0].id) && strstr(err, "arrived"), "%s", err);
    /* run 0's records handed in as run 1 */
    err[0] = '\0';
    cr_expect_eq(results_add_image(&rs, image, len, 1, err, sizeof err), -1);
    cr_expect(strstr(err, "as another run") && strstr(err, ex.runs[0].id), "%s", err);
    /* from a rank that read another experiment */
    err[0] = '\0';
    cr_expect_eq(results_add_image(&rs, other, other_len, 0, err, sizeof err), -1);
    cr_expect(strstr(err, "another experiment"), "%s", err);
    cr_expect(strchr(err, '\n') == NULL, "one line: %s", err);
    cr_expect_eq(part_files(out), 0, "a refused image left a file in the parts folder");
    cr_expect_eq(results_done(&rs, 0), 0);

    /* and the right one is taken */
    cr_expect_eq(results_add_image(&rs, image, len, 0, err, sizeof err), 0, "%s", err);
    cr_expect_eq(results_done(&rs, 0), 1);
    cr_expect_eq(part_files(out), 1);
    free(image);
    free(other);
    results_close(&rs);
    run_result_free(&r);
    grid_free(&ex);
    remove_dir(dir);
}
