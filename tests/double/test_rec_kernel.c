/* the float suite's rec_kernel test, in double precision */
#include "../test_rec_kernel.c"
