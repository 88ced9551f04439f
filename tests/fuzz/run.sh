#!/bin/sh
# run.sh: build the libFuzzer harness of the experiment-file parser and fuzz it for a while.
#   tests/fuzz/run.sh [SECONDS]        (default 60; from any directory)
#   JOBS=2 tests/fuzz/run.sh 300       (fuzzing worker processes, default 1)
# Builds build/fuzz/fuzz_grid with clang (libFuzzer, ASan and UBSan; UBSan aborts on its first
# report), seeds build/fuzz/corpus (kept between runs, so coverage accumulates) from
# experiments/*.ini and tests/bad_experiments/*.ini, with a dictionary of the parser's words taken
# from its sources, and fuzzes inputs of up to 4096 bytes. Every crash, leak, timeout or
# out-of-memory input is copied to tests/bad_experiments/fuzz-crash-<kind>-<sha1>.ini, where
# tests/test_bad_inputs.py runs it through `rnnbench run`.
# Needs clang and libFuzzer (Debian: apt-get install clang libclang-rt-14-dev).
# Exit status: 0 nothing found, 1 something found or a corpus file still fails (see
# build/fuzz/fuzz.log), 2 build failed.
set -eu
cd "$(dirname "$0")/../.."
seconds=${1:-60}
jobs=${JOBS:-1}
out=build/fuzz
mkdir -p "$out/corpus" "$out/artifacts"

CC=${FUZZ_CC:-clang}
if ! command -v "$CC" >/dev/null 2>&1; then
    echo "run.sh: $CC not found (apt-get install clang libclang-rt-14-dev)" >&2
    exit 2
fi
# shellcheck disable=SC2046  # word splitting of the flags and the source list is intended
"$CC" -std=c11 -g -O1 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
    $(pkg-config --cflags hdf5) \
    tests/fuzz/fuzz_grid.c harness/grid*.c harness/config.c harness/settings.c harness/suggest.c \
    harness/util.c harness/task.c \
    harness/tasks/*.c cells/*.c \
    -o "$out/fuzz_grid" \
    $(pkg-config --libs hdf5) -linih -lopenblas -lm || { echo "run.sh: build failed" >&2; exit 2; }

for f in experiments/*.ini tests/bad_experiments/*.ini; do
    [ -f "$f" ] && cp "$f" "$out/corpus/seed-$(basename "$f")"
done

# the words the parser knows: keys, sections, distributions, tasks, cells and their modifiers
{
    sed -n 's/^ *X(\([a-z_0-9]*\), ST_.*/\1/p' harness/settings.h
    sed -n 's/^ *\.name = "\([^"]*\)",.*/\1/p' harness/tasks/*.c
    sed -n 's/^ *{"\([a-z0-9-]*\)", ".*/\1/p' cells/cell.c
    printf '%s\n' name description seed seeds trials "[grid]" "[experiment]" "[grid " loguniform uniform choice \
        chrono modern 1997 6a 6b sgd adam true false " = " ", " "(" ")" "+" "; " 1e-2 -1 0 \
        2147483647 9223372036854775808 18446744073709551616 nan inf 0x1p4
} | sed 's/\\/\\\\/g; s/"/\\"/g; s/.*/"&"/' > "$out/grid.dict"
printf '%s\n' '"\x0A"' >>"$out/grid.dict"   # a newline, escaped as the dictionary format wants

# Fork mode (-fork=N workers) goes on after a crash, so that one known bug does not end the
# session; every distinct crash still lands in artifacts/. -timeout: a parse of the largest legal
# grid (10^5 runs) takes well under a second.
rm -f "$out"/artifacts/*
status=0
"$out/fuzz_grid" "$out/corpus" -dict="$out/grid.dict" -max_len=4096 -timeout=10 -rss_limit_mb=4096 \
    -max_total_time="$seconds" -fork="$jobs" -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
    -print_final_stats=1 -artifact_prefix="$out/artifacts/" >"$out/fuzz.log" 2>&1 || status=$?

found=0
for a in "$out"/artifacts/*; do
    [ -f "$a" ] || continue
    name=$(basename "$a")                   # crash-<sha1>, leak-<sha1>, timeout-<sha1>, oom-<sha1>
    kind=${name%%-*}
    found=1
    known=""
    for f in tests/bad_experiments/*.ini; do
        cmp -s "$a" "$f" && known=$f
    done
    if [ -n "$known" ]; then   # a seed that still fails: already in the corpus
        echo "run.sh: $known still gives a $kind" >&2
        continue
    fi
    dest=tests/bad_experiments/fuzz-crash-${name#*-}.ini
    [ "$kind" = crash ] || dest=tests/bad_experiments/fuzz-crash-$kind-${name#*-}.ini
    cp "$a" "$dest"
    echo "run.sh: found a $kind: $dest" >&2
done
grep -E '^#[0-9]+: cov:' "$out/fuzz.log" | tail -n 1 || true
echo "run.sh: corpus $(find "$out/corpus" -type f | wc -l) inputs; log $out/fuzz.log; fuzzer exit $status"
[ "$found" -eq 0 ] && [ "$status" -eq 0 ] && exit 0
exit 1
