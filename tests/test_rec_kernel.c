/* test_rec_kernel.c: cells/rec_kernel.c's out += a R^T against a plain loop,
   over the shapes its code paths split on: rows in blocks of 6 and the 1-5
   left over, whole panels and a narrower last one, a K of 1, strides wider
   than the rows (R's too), overwrite (beta 0), and a large R; and the same
   matrix packed from its stored form by rec_prepare_nn. Built into
   both runners (tests/double includes this file), so float and double are
   both checked. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../cells/rec_kernel.h"

/* a fixed pseudo-random fill in [-1, 1) */
static void fill(real *p, size_t n, unsigned seed) {
    unsigned s = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        p[i] = (real)((s >> 8) / 8388608.0 - 1.0);
    }
}

/* checks one shape; the outputs have PAD columns past N that must stay */
static void check(int M, int K, int N, int overwrite) {
    enum { PAD = 3 };
    const int lda = K + 2, ldo = N + PAD, ldr = K + 1;
    real *R = malloc(sizeof(real) * (size_t)N * ldr), *packed = malloc(sizeof(real) * (size_t)N * K);
    real *a = malloc(sizeof(real) * (size_t)M * lda), *out = malloc(sizeof(real) * (size_t)M * ldo);
    real *again = malloc(sizeof(real) * (size_t)M * ldo);
    double *want = malloc(sizeof(double) * (size_t)M * ldo);
    cr_assert(R && packed && a && out && again && want, "out of memory");
    fill(R, (size_t)N * ldr, 1);
    fill(a, (size_t)M * lda, 2);
    fill(out, (size_t)M * ldo, 3);
    for (int i = 0; i < M; i++)
        for (int j = 0; j < ldo; j++) {
            double s = overwrite && j < N ? 0 : out[(size_t)i * ldo + j];
            if (j < N)
                for (int k = 0; k < K; k++) s += (double)a[(size_t)i * lda + k] * R[(size_t)j * ldr + k];
            want[(size_t)i * ldo + j] = s;
        }
    memcpy(again, out, sizeof(real) * (size_t)M * ldo);
    rec_prepare(packed, R, ldr, K, N);
    /* R^T as stored (K rows of N, rows ldm apart), packed by rec_prepare_nn:
       the same packed matrix, element for element */
    const int ldm = N + 2;
    real *stored = malloc(sizeof(real) * (size_t)K * ldm), *packed_nn = malloc(sizeof(real) * (size_t)N * K);
    cr_assert(stored && packed_nn, "out of memory");
    for (int k = 0; k < K; k++)
        for (int j = 0; j < ldm; j++) stored[(size_t)k * ldm + j] = j < N ? R[(size_t)j * ldr + k] : NAN;
    rec_prepare_nn(packed_nn, stored, ldm, K, N);
    cr_assert(memcmp(packed, packed_nn, sizeof(real) * (size_t)N * K) == 0,
              "M=%d K=%d N=%d: rec_prepare_nn packs differently from rec_prepare", M, K, N);
    free(stored), free(packed_nn);
    rec_product(out, ldo, a, lda, packed, M, K, N, overwrite);
    rec_product(again, ldo, a, lda, packed, M, K, N, overwrite);
    /* float sums of K terms of size <= 1: a few ulp of K */
    const double tol = (sizeof(real) == sizeof(float) ? 1e-6 : 1e-14) * (K + 1);
    for (int i = 0; i < M; i++)
        for (int j = 0; j < ldo; j++) {
            const size_t ij = (size_t)i * ldo + j;
            cr_assert(fabs(out[ij] - want[ij]) <= tol,
                      "M=%d K=%d N=%d overwrite=%d: out[%d][%d] = %.9g, want %.9g", M, K, N,
                      overwrite, i, j, (double)out[ij], want[ij]);
            cr_assert(out[ij] == again[ij], "M=%d K=%d N=%d: two calls differ at [%d][%d]", M, K,
                      N, i, j);
        }
    free(R), free(packed), free(a), free(out), free(again), free(want);
}

Test(rec_kernel, matches_a_plain_product_on_every_path) {
    const int Ms[] = {1, 2, 3, 4, 5, 6, 7, 11, 13, 32};
    const int Ks[] = {1, 4, 17, 64};
    const int Ns[] = {1, 5, 8, 16, 24, 33, 100, 256};
    for (size_t m = 0; m < sizeof Ms / sizeof *Ms; m++)
        for (size_t k = 0; k < sizeof Ks / sizeof *Ks; k++)
            for (size_t n = 0; n < sizeof Ns / sizeof *Ns; n++)
                for (int ow = 0; ow <= 1; ow++) check(Ms[m], Ks[k], Ns[n], ow);
}

Test(rec_kernel, large_r) {
    check(7, 300, 300, 0);
    check(3, 300, 300, 1);
}
