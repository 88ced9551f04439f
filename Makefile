# rnnbench Makefile
#   make                  build bin/rnnbench (float)
#   make PRECISION=double build bin/rnnbench-double
#   make BLAS=openblas    use CBLAS/OpenBLAS for float GEMMs (default: oneDNN if installed); a build
#                         on another backend than the default is bin/rnnbench-<blas> (and
#                         bin/rnnbench-double-<blas>), so it never replaces bin/rnnbench
#   make PORTABLE=1       without -march=native
#   make MPI=1            bin/rnnbench-mpi: `mpirun -np N bin/rnnbench-mpi run EXP.ini` spreads a grid over
#                         MPI ranks (README, "Scaling out"); needs mpicc (libopenmpi-dev)
#   make test             install missing packages (as root), build, run Criterion + pytest
#   make test-all         make test, the float suite on OpenBLAS, then make sanitize (ASan/UBSan, Valgrind)
#   make run              run experiments/quickstart.ini and print the comparison table
#   make bench            time a training step against PyTorch and oneDNN (scripts/bench_compare.py)
#   make bench-index      results bookkeeping per run at 250 and 10 000 runs (scripts/bench_index.py)
# Objects go to build/<precision>-<blas>/ so the variants never mix.

PRECISION ?= float
# missing packages are installed before anything else is decided: the default
# GEMM backend depends on whether oneDNN is there (a first `make run` on a fresh
# machine would otherwise build with OpenBLAS, and the next with oneDNN)
ifeq ($(filter clean,$(MAKECMDGOALS)),)
DEPS_FIRST := $(shell [ -f build/.deps-ok ] || { sh scripts/install-deps.sh 1>&2 && mkdir -p build && touch build/.deps-ok; })
endif
ifeq ($(wildcard /usr/include/oneapi/dnnl/dnnl.h),)
DEFAULT_BLAS = openblas
else
DEFAULT_BLAS = onednn
endif
BLAS ?= $(DEFAULT_BLAS)
# the binaries of another backend carry its name: a results file records its
# backend, and resuming it with another build is refused, so the two must not swap silently
BLAS_SUFFIX = $(if $(filter $(DEFAULT_BLAS),$(BLAS)),,-$(BLAS))

CC ?= gcc
# the first interpreter that can import h5py (the python3 first on PATH may not see Debian's packages)
PYTHON = $(shell for p in /usr/bin/python3 python3; do $$p -c 'import h5py' >/dev/null 2>&1 && { command -v $$p; break; }; done)

HDF5_CFLAGS = $(shell pkg-config --cflags hdf5 2>/dev/null)
HDF5_LIBS = $(shell pkg-config --libs hdf5 2>/dev/null)
BLAS_LIBS_openblas = -lopenblas
BLAS_LIBS_onednn = -ldnnl -lopenblas

# -O3 -march=native: the gate loops vectorize for this machine's widest SIMD;
# make PORTABLE=1 builds for any x86-64 (the same code, narrower vectors);
# the sanitizer builds use -O1 (as the sanitizers' authors advise: exact
# reports, and half the compile time of -O3 on CI's 2 cores: 56 s against 112)
ifeq ($(SANITIZE),1)
OPT ?= -O1
else ifeq ($(PORTABLE),1)
OPT ?= -O3
else
OPT ?= -O3 -march=native
endif
# make SANITIZE=1: AddressSanitizer + UndefinedBehaviorSanitizer, in their own build folders
ifeq ($(SANITIZE),1)
SAN_FLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
VARIANT = -asan
else ifeq ($(PORTABLE),1)
VARIANT = -portable
endif
# make MPI=1: the same code compiled by mpicc with -DRNNBENCH_MPI (harness/mpi_run.c), in its own
# build folder and binary; the default build needs no MPI
ifeq ($(MPI),1)
CC = mpicc
MPI_FLAGS = -DRNNBENCH_MPI
VARIANT := $(VARIANT)-mpi
endif
# -std=c11 alone turns off fused multiply-add contraction (GCC's ISO mode):
# -ffp-contract=fast lets a*b+c become one FMA, as BLAS kernels do. Results stay
# bit-identical from run to run of one build.
CFLAGS_BASE = -std=c11 $(OPT) -ffp-contract=fast -g -Wall -Wextra -fopenmp -D_GNU_SOURCE $(HDF5_CFLAGS) $(SAN_FLAGS) $(MPI_FLAGS)
CFLAGS_float = $(CFLAGS_BASE) $(if $(filter onednn,$(BLAS)),-DRNNBENCH_ONEDNN)
CFLAGS_double = $(CFLAGS_BASE) -DRNNBENCH_DOUBLE
LDLIBS = $(HDF5_LIBS) -linih -ljansson -lnettle $(BLAS_LIBS_$(BLAS)) -lm -fopenmp $(SAN_FLAGS)

LIB_SRC = $(wildcard cells/*.c) $(filter-out harness/main.c,$(wildcard harness/*.c)) $(wildcard harness/tasks/*.c)
TEST_SRC_float = $(wildcard tests/test_*.c)
TEST_SRC_double = $(wildcard tests/double/test_*.c)
# tests/double/test_alloc.c counts the allocations of rnnbench's own code
TEST_LDFLAGS_double = -Wl,--wrap=malloc -Wl,--wrap=calloc -Wl,--wrap=realloc

BUILD = build/$(1)-$(BLAS)$(VARIANT)
objs = $(patsubst %.c,$(call BUILD,$(1))/%.o,$(2))

# the commit a results file records (with -dirty for uncommitted changes)
GIT_COMMIT = $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)$(shell git diff --quiet HEAD -- 2>/dev/null || echo -dirty)

BIN_float = bin/rnnbench$(BLAS_SUFFIX)$(VARIANT)
BIN_double = bin/rnnbench-double$(BLAS_SUFFIX)$(VARIANT)
DEPS_STAMP = build/.deps-ok

.PHONY: all float double mpi runners test test-c test-py test-all test-openblas run clean deps FORCE sanitize valgrind bench bench-index
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
# run_record.c records the commit: on a clean build the header must exist first
build/$(1)-$(BLAS)$(VARIANT)/harness/run_record.o: build/git_commit.h

# the flags a variant was compiled with: objects rebuild when they change
build/$(1)-$(BLAS)$(VARIANT)/cflags: FORCE
	@mkdir -p $$(dir $$@)
	@echo '$$(CFLAGS_$(1))' > $$@.new
	@cmp -s $$@.new $$@ && rm -f $$@.new || mv $$@.new $$@

build/$(1)-$(BLAS)$(VARIANT)/%.o: %.c build/$(1)-$(BLAS)$(VARIANT)/cflags | $(DEPS_STAMP)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CFLAGS_$(1)) -MMD -MP -c $$< -o $$@

# linked per variant, then copied to bin/ whenever it differs (switching BLAS relinks nothing)
build/$(1)-$(BLAS)$(VARIANT)/rnnbench: $(call objs,$(1),$(LIB_SRC) harness/main.c)
	$$(CC) $$^ -o $$@ $$(LDLIBS)

$(BIN_$(1)): build/$(1)-$(BLAS)$(VARIANT)/rnnbench FORCE
	@mkdir -p bin
	@cmp -s $$< $$@ || { cp $$< $$@.new && mv $$@.new $$@ && echo "$$@ <- $$<"; }

build/$(1)-$(BLAS)$(VARIANT)/test-runner: $(call objs,$(1),$(LIB_SRC) $(TEST_SRC_$(1)))
	$$(CC) $$^ -o $$@ $$(LDLIBS) -lcriterion $$(TEST_LDFLAGS_$(1))

-include $(patsubst %.o,%.d,$(call objs,$(1),$(LIB_SRC) harness/main.c $(TEST_SRC_$(1))))
endef
$(eval $(call PRECISION_RULES,float))
$(eval $(call PRECISION_RULES,double))

# bin/rnnbench-mpi (tests/test_mpi.py), when MPI is installed
HAVE_MPI := $(shell command -v mpicc >/dev/null 2>&1 && command -v mpirun >/dev/null 2>&1 && echo 1)
# (after build/git_commit.h: the two makes must not write it at once under -j)
mpi: build/git_commit.h
	@if [ "$(HAVE_MPI)" = 1 ]; then $(MAKE) --no-print-directory MPI=1 float; \
	else echo "make mpi: MPI is not installed (mpicc, mpirun): tests/test_mpi.py will be skipped; scripts/install-deps.sh installs openmpi"; fi

# every binary the tests of this variant use (so that CI can compile them with -j first)
runners: build/float-$(BLAS)$(VARIANT)/test-runner build/double-$(BLAS)$(VARIANT)/test-runner $(BIN_float) $(BIN_double) \
	$(if $(VARIANT),,mpi)

test: test-c test-py

test-c: build/float-$(BLAS)$(VARIANT)/test-runner build/double-$(BLAS)$(VARIANT)/test-runner $(BIN_float) $(BIN_double)
	build/double-$(BLAS)$(VARIANT)/test-runner
	build/float-$(BLAS)$(VARIANT)/test-runner

# two workers when pytest-xdist is installed (python3-pytest-xdist): the suite is mostly
# single-threaded subprocesses; the tests marked `serial` (seeded bit flips, whose targets move
# with the file's layout and so with the tmp path a worker adds) run after the rest, on two
# workers of their own (each on one, so its tmp path is the same from run to run)
test-py: $(BIN_float) $(BIN_double) mpi
	@if $(PYTHON) -c "import xdist" 2>/dev/null; then \
		$(PYTHON) -m pytest -q -n 2 -m "not serial" tests && $(PYTHON) -m pytest -q -n 2 -m serial tests; \
	else \
		$(PYTHON) -m pytest -q tests; \
	fi

# --force only matters when results/quickstart.h5 came from another build (a
# file of this build is resumed as it is): the demo then starts over
run: $(BIN_float)
	$(BIN_float) run experiments/quickstart.ini -o results/quickstart.h5 --force

# the benchmark: rnnbench, PyTorch and oneDNN's RNN primitive interleaved on one core, guarded
# against a busy machine (its verdict heads the table and build/bench.csv);
# e.g. make bench BENCH_ARGS="--strict" exits 1 when the guard calls the machine busy
build/bench_onednn: scripts/bench_onednn.c | $(DEPS_STAMP)
	@mkdir -p build
	$(CC) -O2 -std=c11 -Wall -Wextra -fopenmp scripts/bench_onednn.c -o $@ -ldnnl -lm

bench: $(BIN_float) build/bench_onednn
	$(PYTHON) scripts/bench_compare.py $(BENCH_ARGS)

bench-index: $(BIN_float)
	$(PYTHON) scripts/bench_index.py

# every Criterion test and a small grid under ASan + UBSan (leaks included)
sanitize:
	$(MAKE) SANITIZE=1 test-c
	rm -rf build/sanitize-grid.h5 build/sanitize-grid.h5.parts
	ASAN_OPTIONS=detect_leaks=1 bin/rnnbench-asan run tests/data/small-grid.ini -o build/sanitize-grid.h5 -j 2 --quiet
	ASAN_OPTIONS=detect_leaks=1 bin/rnnbench-asan show build/sanitize-grid.h5 > /dev/null
	$(MAKE) valgrind

# the same small grid under Valgrind's memcheck: no errors, no leaks
# (a portable build: Valgrind does not know every AVX-512 instruction -march=native may use)
valgrind:
	$(MAKE) PORTABLE=1 float
	rm -rf build/valgrind-grid.h5 build/valgrind-grid.h5.parts
	valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect -q \
		bin/rnnbench-portable run tests/data/small-grid.ini -o build/valgrind-grid.h5 -j 1 --quiet > /dev/null

# the float Criterion suite on OpenBLAS too (the double build always uses CBLAS);
# bin/ keeps the default backend's binaries
test-openblas:
	$(MAKE) BLAS=openblas build/float-openblas$(VARIANT)/test-runner
	build/float-openblas$(VARIANT)/test-runner

# what CI runs: the suite, the other GEMM backend, then the sanitizer and Valgrind runs
test-all: test test-openblas sanitize

clean:
	rm -rf build/*-* bin
