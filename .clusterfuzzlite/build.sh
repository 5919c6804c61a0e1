#!/bin/bash -eu
# ClusterFuzzLite / OSS-Fuzz build step: CC, CFLAGS, LIB_FUZZING_ENGINE, OUT, SRC and WORK come
# from the base-builder image; the project's build.sh turns them into $OUT/<target>,
# <target>_seed_corpus.zip, <target>.dict and <target>.options.
cd "$SRC/leaxos-mm"
./build.sh oss-fuzz
