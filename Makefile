# rnnbench Makefile
#   make                  build bin/rnnbench (float)
#   make PRECISION=double build bin/rnnbench-double
#   make BLAS=openblas    use CBLAS/OpenBLAS for float GEMMs (default: oneDNN if installed)
#   make test             install missing packages (as root), build, run Criterion + pytest
#   make run              run experiments/quickstart.ini and print the comparison table
# Objects go to build/<precision>-<blas>/ so the variants never mix.

PRECISION ?= float
ifeq ($(wildcard /usr/include/oneapi/dnnl/dnnl.h),)
BLAS ?= openblas
else
BLAS ?= onednn
endif

CC ?= gcc
# the first interpreter that can import h5py (the python3 first on PATH may not see Debian's packages)
PYTHON = $(shell for p in /usr/bin/python3 python3; do $$p -c 'import h5py' >/dev/null 2>&1 && { command -v $$p; break; }; done)

HDF5_CFLAGS = $(shell pkg-config --cflags hdf5 2>/dev/null)
HDF5_LIBS = $(shell pkg-config --libs hdf5 2>/dev/null)
BLAS_LIBS_openblas = -lopenblas
BLAS_LIBS_onednn = -ldnnl -lopenblas

OPT ?= -O2
CFLAGS_BASE = -std=c11 $(OPT) -g -Wall -Wextra -fopenmp -D_GNU_SOURCE $(HDF5_CFLAGS)
CFLAGS_float = $(CFLAGS_BASE) $(if $(filter onednn,$(BLAS)),-DRNNBENCH_ONEDNN)
CFLAGS_double = $(CFLAGS_BASE) -DRNNBENCH_DOUBLE
LDLIBS = $(HDF5_LIBS) -linih $(BLAS_LIBS_$(BLAS)) -lm -fopenmp

LIB_SRC = $(wildcard cells/*.c) $(filter-out harness/main.c,$(wildcard harness/*.c)) $(wildcard harness/tasks/*.c)
TEST_SRC_float = $(wildcard tests/test_*.c)
TEST_SRC_double = $(wildcard tests/double/test_*.c)
# tests/double/test_alloc.c counts the allocations of rnnbench's own code
TEST_LDFLAGS_double = -Wl,--wrap=malloc -Wl,--wrap=calloc -Wl,--wrap=realloc

BUILD = build/$(1)-$(BLAS)
objs = $(patsubst %.c,$(call BUILD,$(1))/%.o,$(2))

# the commit a results file records (with -dirty for uncommitted changes)
GIT_COMMIT = $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)$(shell git diff --quiet HEAD -- 2>/dev/null || echo -dirty)

BIN_float = bin/rnnbench
BIN_double = bin/rnnbench-double
DEPS_STAMP = build/.deps-ok

.PHONY: all float double test test-c test-py run clean deps FORCE
all: $(BIN_$(PRECISION))

float: $(BIN_float)
double: $(BIN_double)

deps: $(DEPS_STAMP)
$(DEPS_STAMP): scripts/install-deps.sh
	@mkdir -p build
	sh scripts/install-deps.sh
	@touch $@

build/git_commit.h: FORCE
	@mkdir -p build
	@echo '#define RNNBENCH_GIT "$(GIT_COMMIT)"' > $@.new
	@cmp -s $@.new $@ && rm -f $@.new || mv $@.new $@

# one compile rule per precision
define PRECISION_RULES
build/$(1)-$(BLAS)/harness/results.o: build/git_commit.h

build/$(1)-$(BLAS)/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CFLAGS_$(1)) -MMD -MP -c $$< -o $$@

$(BIN_$(1)): $(call objs,$(1),$(LIB_SRC) harness/main.c)
	@mkdir -p bin
	$$(CC) $$^ -o $$@ $$(LDLIBS)

build/$(1)-$(BLAS)/test-runner: $(call objs,$(1),$(LIB_SRC) $(TEST_SRC_$(1)))
	$$(CC) $$^ -o $$@ $$(LDLIBS) -lcriterion $$(TEST_LDFLAGS_$(1))

-include $(patsubst %.o,%.d,$(call objs,$(1),$(LIB_SRC) harness/main.c $(TEST_SRC_$(1))))
endef
$(eval $(call PRECISION_RULES,float))
$(eval $(call PRECISION_RULES,double))

test: test-c test-py

test-c: build/float-$(BLAS)/test-runner build/double-$(BLAS)/test-runner $(BIN_float) $(BIN_double)
	build/double-$(BLAS)/test-runner
	build/float-$(BLAS)/test-runner

test-py: $(BIN_float) $(BIN_double)
	$(PYTHON) -m pytest -q tests

run: $(BIN_float)
	$(BIN_float) run experiments/quickstart.ini -o results/quickstart.h5

clean:
	rm -rf build/*-* bin
