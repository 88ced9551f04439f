/* settings_attrs.c: see settings_attrs.h. */
#include "settings_attrs.h"
#include "h5io.h"
#include "settings.h"

int settings_write_attrs(hid_t g, const RunConfig *c, const char *cell_built) {
    int rc = 0;
    for (int k = 0; k < N_SETTINGS; k++) {
        if (!setting_is_recorded(c, k)) continue;
        const char *key = SETTINGS[k].key;
        SettingValue v;
        setting_get(c, k, &v);
        switch (SETTINGS[k].type) {
        case ST_INT:
        case ST_INT_POSITIVE:
        case ST_LONG:
        case ST_BOOL:
        case ST_FORM: rc |= h5_attr_int(g, key, v.i); break;
        case ST_NUM: rc |= h5_attr_double(g, key, v.x); break;
        case ST_OPTIMIZER: rc |= h5_attr_str(g, key, optimizer_name((OptimizerKind)v.i)); break;
        case ST_FORGET:
            if (v.i) rc |= h5_attr_str(g, key, "chrono");
            else rc |= h5_attr_double(g, key, v.x);
            break;
        case ST_NAME:
            if (k == SETTING_cell) {
                /* what was trained, and what was asked for (an alias or a
                   combination may build under another name) */
                rc |= h5_attr_str(g, key, cell_built && cell_built[0] ? cell_built : v.s);
                rc |= h5_attr_str(g, "cell_requested", v.s);
            } else {
                rc |= h5_attr_str(g, key, v.s);
            }
            break;
        }
    }
    return rc;
}
