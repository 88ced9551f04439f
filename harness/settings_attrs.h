/* settings_attrs.h: the settings of a run as attributes of its HDF5 group. */
#ifndef RNNBENCH_SETTINGS_ATTRS_H
#define RNNBENCH_SETTINGS_ATTRS_H

#include <hdf5.h>
#include "config.h"

/* One attribute per setting, named by its key, in table order: integers as
   int64, numbers as float64, names and the optimizer as text; forget_bias
   is the text "chrono" or a number. The cell is two: `cell`, the name the
   model was built as (cell_built, or the requested one when empty), and
   `cell_requested`, as given. Nonzero when a write failed. */
int settings_write_attrs(hid_t g, const RunConfig *c, const char *cell_built);

#endif
