/* test_prereg.c: an experiment's `preregistration = FILE` (harness/grid.c):
   the file is read relative to the experiment file, hashed with SHA-256 and
   kept (path, hash, text); a missing file, an empty value and the key given
   twice are one-line errors naming the file, the line and the value; an
   experiment without the key has none. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../harness/grid.h"

#define GRID "\n[grid]\ntask = adding\ncell = rnn\n"

/* a fresh directory holding a.prereg = "abc"; its path in dir */
static void make_dir(char dir[64]) {
    snprintf(dir, 64, "/tmp/rnnbench-prereg-XXXXXX");
    cr_assert_not_null(mkdtemp(dir), "cannot make a temporary directory");
    char path[128];
    snprintf(path, sizeof path, "%s/a.prereg", dir);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "cannot write %s", path);
    fputs("abc", f);
    fclose(f);
}

static void remove_dir(const char *dir) {
    char path[128];
    snprintf(path, sizeof path, "%s/a.prereg", dir);
    remove(path);
    rmdir(dir);
}

Test(prereg, read_relative_to_the_experiment_and_hashed) {
    char dir[64], ini[128], err[1024] = "";
    make_dir(dir);
    snprintf(ini, sizeof ini, "%s/x.ini", dir);
    Experiment ex;
    int rc = grid_load_string(ini, "[experiment]\npreregistration = a.prereg\n" GRID, &ex, err, sizeof err);
    cr_assert_eq(rc, 0, "%s", err);
    char want[160];
    snprintf(want, sizeof want, "%s/a.prereg", dir);
    cr_assert_str_eq(ex.prereg_path, want);
    /* SHA-256("abc"), FIPS 180-2 appendix B.1 */
    cr_assert_str_eq(ex.prereg_sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    cr_assert_str_eq(ex.prereg_text, "abc");
    grid_free(&ex);
    remove_dir(dir);
}

Test(prereg, absent_key_records_nothing) {
    char err[1024] = "";
    Experiment ex;
    cr_assert_eq(grid_load_string("x.ini", "[experiment]\nseed = 2\n" GRID, &ex, err, sizeof err), 0, "%s", err);
    cr_assert_str_empty(ex.prereg_path);
    cr_assert_null(ex.prereg_text);
    grid_free(&ex);
}

static void expect_error(const char *path, const char *text, const char *expected) {
    char err[2048] = "";
    Experiment ex;
    cr_assert_neq(grid_load_string(path, text, &ex, err, sizeof err), 0, "no error for:\n%s", text);
    cr_assert_str_eq(err, expected);
}

Test(prereg, errors_name_file_line_and_value) {
    expect_error("exp/x.ini", "[experiment]\nname = x\npreregistration = gone.prereg\n" GRID,
                 "exp/x.ini:3: preregistration: cannot open 'exp/gone.prereg': No such file or directory");
    expect_error("x.ini", "[experiment]\npreregistration =\n" GRID,
                 "x.ini:2: preregistration: expected a file name, got ''");
    expect_error("x.ini", "[experiment]\npreregistration = a\npreregistration = b\n" GRID,
                 "x.ini:3: preregistration: given twice (first on line 2)");
}
