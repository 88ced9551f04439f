/* rec_kernel.c: the per-step recurrent product on a copy of R packed once
   per sequence (rec_kernel.h).

   Why: at each step a cell multiplies B rows of h by the same R. Through
   dnnl_sgemm that product ran well below the GEMM ceiling on this Zen 3
   host: 64 GFLOP/s on W1's (32 x 64) by (64 x 256) against 78 on 1024^3 in
   the same run, 27-44 on W3's 64 x 2048 x 512 against 56-58 on 2048^3.
   Here R is packed once per sequence into panels of PANEL columns, each
   panel's K rows contiguous (unpacked, the rows of a panel are a power of
   two apart and fall into a few L1 sets), and a tile of up to 6 rows by 1-4
   panels keeps its sums in registers over the whole K; for 6-row blocks
   the loop runs panel by panel, so a panel stays in L1 while the blocks go
   by. Each output is its start value plus the K products added in order,
   one FMA each: the same for every run and thread count.

   Measured against dnnl_sgemm in the same run (Zen 3, loaded; one product
   in a loop): 1.10-1.15x on W1's forward product, 1.35-1.47x on W2's, 1.0x
   on W4's matrix-vector product, 1.1-2.3x over B = 1..256 and H =
   128..1024 (R^T up to 16 MiB; W3's shape 84 against 44 GFLOP/s). On the
   backward's dpre R it measured 0.6-1.15x, and over whole LSTM steps 0.93x
   at W3 (2026-12-01), so the LSTM's stays on the GEMM backend; cwrnn's
   16-deep ones, where dnnl_sgemm's cost per call dominated, take the kernel
   on R packed as stored (rec_prepare_nn). The kernel is used only where the
   machine has FMA; elsewhere (make PORTABLE=1) the packing functions write
   the plain right-hand matrix and rec_product calls the GEMM backend. */
#include "rec_kernel.h"
#include "gemm.h"
#include "vec_kernel.h"

#include <stddef.h>

/* two registers wide: with up to 6 rows, 12 sums, 2 loads of R and one
   broadcast fill the 16 AVX2 registers */
#define PANEL (2 * LANES)

int rec_uses_kernel(void) {
#if defined(__FMA__) || defined(__AVX512F__)
    return 1;
#else
    return 0;
#endif
}

void rec_prepare(real *packed, const real *R, int ldr, int K, int N) {
    if (!rec_uses_kernel()) {
        /* h R^T with R stored transposed: dnnl_sgemm measured 10 % faster on
           the untransposed operand at H = 512 (86 -> 93 GFLOP/s); in tiles
           that keep both sides in L1 */
        enum { TILE = 32 };
        for (int n0 = 0; n0 < N; n0 += TILE)
            for (int k0 = 0; k0 < K; k0 += TILE)
                for (int k = k0; k < k0 + TILE && k < K; k++)
                    for (int n = n0; n < n0 + TILE && n < N; n++)
                        packed[(size_t)k * N + n] = R[(size_t)n * ldr + k];
        return;
    }
    /* panel at column j0, w wide: element (k, j0 + c) at K*j0 + k*w + c */
    for (int j0 = 0; j0 < N; j0 += PANEL) {
        const int w = N - j0 < PANEL ? N - j0 : PANEL;
        real *p = packed + (size_t)K * j0;
        for (int k = 0; k < K; k++)
            for (int c = 0; c < w; c++)
                p[(size_t)k * w + c] = R[(size_t)(j0 + c) * ldr + k];
    }
}

void rec_prepare_nn(real *packed, const real *M, int ldm, int K, int N) {
    if (!rec_uses_kernel()) {
        for (int k = 0; k < K; k++)
            for (int n = 0; n < N; n++) packed[(size_t)k * N + n] = M[(size_t)k * ldm + n];
        return;
    }
    for (int j0 = 0; j0 < N; j0 += PANEL) {
        const int w = N - j0 < PANEL ? N - j0 : PANEL;
        real *p = packed + (size_t)K * j0;
        for (int k = 0; k < K; k++)
            for (int c = 0; c < w; c++) p[(size_t)k * w + c] = M[(size_t)k * ldm + j0 + c];
    }
}

/* out (MR rows, NP full panels) += a (MR,K) times those panels; MR and NP
   constants in each instance, MR * NP * 2 <= 12 sums */
static inline __attribute__((always_inline)) void tile(real *out, int ldo, const real *a, int lda,
                                                       const real *p, int K, const int MR,
                                                       const int NP, int overwrite) {
    vreal acc[6][8]; /* fixed sizes: an array sized by MR would live in memory */
    for (int i = 0; i < MR; i++)
        for (int q = 0; q < 2 * NP; q++)
            acc[i][q] = overwrite ? (vreal){0} : vload(out + (size_t)i * ldo + q * LANES);
    const size_t panel = (size_t)K * PANEL; /* reals from one panel to the next */
    for (int k = 0; k < K; k++) {
        vreal b[8];
        for (int q = 0; q < 2 * NP; q++)
            b[q] = vload(p + (size_t)(q / 2) * panel + (size_t)k * PANEL + (q % 2) * LANES);
        for (int i = 0; i < MR; i++) {
            const vreal av = vbroadcast(a[(size_t)i * lda + k]);
            for (int q = 0; q < 2 * NP; q++) acc[i][q] += av * b[q];
        }
    }
    for (int i = 0; i < MR; i++)
        for (int q = 0; q < 2 * NP; q++) vstore(out + (size_t)i * ldo + q * LANES, acc[i][q]);
}

/* MR rows over all full panels: NP at a time, then one at a time */
static inline __attribute__((always_inline)) void row_block(real *out, int ldo, const real *a,
                                                            int lda, const real *packed, int K,
                                                            int full, const int MR, const int NP,
                                                            int overwrite) {
    int j = 0;
    for (; j + NP <= full; j += NP)
        tile(out + (size_t)j * PANEL, ldo, a, lda, packed + (size_t)K * j * PANEL, K, MR, NP,
             overwrite);
    for (; j < full; j++)
        tile(out + (size_t)j * PANEL, ldo, a, lda, packed + (size_t)K * j * PANEL, K, MR, 1,
             overwrite);
}

void rec_product(real *out, int ldo, const real *a, int lda, const real *packed, int M, int K,
                 int N, int overwrite) {
    if (M <= 0 || N <= 0) return;
    if (!rec_uses_kernel()) {
        gemm(0, 0, M, N, K, 1, a, lda, packed, N, overwrite ? 0 : 1, out, ldo);
        return;
    }
    const int full = N / PANEL, M6 = M - M % 6;
    /* blocks of 6 rows panel by panel: the panel stays in L1 while the
       blocks go by (row by row, each block streamed all of R from L2) */
    for (int j = 0; j < full; j++)
        for (int i6 = 0; i6 < M6; i6 += 6)
            tile(out + (size_t)i6 * ldo + (size_t)j * PANEL, ldo, a + (size_t)i6 * lda, lda,
                 packed + (size_t)K * j * PANEL, K, 6, 1, overwrite);
    const int i = M6;
    /* the last rows: fewer rows, more panels at once, so that enough sums
       are in flight to cover the FMA latency */
    real *o = out + (size_t)i * ldo;
    const real *ai = a + (size_t)i * lda;
    switch (M - i) {
    case 5: row_block(o, ldo, ai, lda, packed, K, full, 5, 1, overwrite); break;
    case 4: row_block(o, ldo, ai, lda, packed, K, full, 4, 1, overwrite); break;
    case 3: row_block(o, ldo, ai, lda, packed, K, full, 3, 2, overwrite); break;
    case 2: row_block(o, ldo, ai, lda, packed, K, full, 2, 2, overwrite); break;
    case 1: row_block(o, ldo, ai, lda, packed, K, full, 1, 4, overwrite); break;
    default: break;
    }
    /* the last, narrower panel: w < PANEL sums per row, added k by k */
    const int j0 = full * PANEL, w = N - j0;
    if (w == 0) return;
    const real *p = packed + (size_t)K * j0;
    for (int r = 0; r < M; r++) {
        real s[PANEL];
        real *o = out + (size_t)r * ldo + j0;
        for (int c = 0; c < w; c++) s[c] = overwrite ? 0 : o[c];
        for (int k = 0; k < K; k++) {
            const real ak = a[(size_t)r * lda + k];
            for (int c = 0; c < w; c++) s[c] += ak * p[(size_t)k * w + c];
        }
        for (int c = 0; c < w; c++) o[c] = s[c];
    }
}
