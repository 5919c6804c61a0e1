#!/bin/bash -eu
# OSS-Fuzz build step (projects/leaxos-mm/build.sh): everything is in the project's build.sh.
cd "$SRC/leaxos-mm"
./build.sh oss-fuzz
