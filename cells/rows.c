/* rows.c: small loops over (rows, cols) blocks that every kernel uses. */
#include "kernel.h"

#include <math.h>

void add_bias_rows(real *out, const real *bias, int rows, int cols) {
    for (int r = 0; r < rows; r++) {
        real *o = out + (size_t)r * cols;
        for (int j = 0; j < cols; j++) o[j] += bias[j];
    }
}

void sum_rows_into(real *acc, const real *m, int rows, int cols) {
    for (int r = 0; r < rows; r++) {
        const real *row = m + (size_t)r * cols;
        for (int j = 0; j < cols; j++) acc[j] += row[j];
    }
}

void flow_norms(const real *d, int B, int H, real *out) {
    double total = 0;
    for (int b = 0; b < B; b++) {
        double s = 0;
        for (int j = 0; j < H; j++) s += (double)d[(size_t)b * H + j] * d[(size_t)b * H + j];
        total += sqrt(s);
    }
    *out = (real)(total / B);
}
