/* mpi_image.h: a finished run as the bytes of its part file, the message
   an MPI worker sends the writer rank (results_add_image stores them). The
   bytes are made by the same code as a local run's part (h5_create and
   run_record_write), on a scratch file in TMPDIR (else /dev/shm, else /tmp)
   that is read back and removed. No MPI
   here: it builds and is tested in every build. */
#ifndef RNNBENCH_MPI_IMAGE_H
#define RNNBENCH_MPI_IMAGE_H

#include <stddef.h>
#include <stdint.h>
#include "train.h"

/* r as a part file's bytes in *image (malloc'ed, *len bytes; free it); 0, or
   -1 with err saying why. Safe to call from several threads (one at a time
   goes through libhdf5). */
int run_image(const RunResult *r, uint64_t experiment_hash, char **image, size_t *len, char *err, size_t n);

#endif
