#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Where the CPU time of a TCP stream through the tunnel goes, for wgmpsc
# and the distribution's wireguard.ko in the same boot: the part
# "profile" of `make bench` alone (guest-profile.sh says what it reads),
# its table in build/profile/out/results.md unless BENCH_OUT_DIR says
# otherwise, so that bench/results.md keeps the last full run.
#
# usage: tools/bench/profile.sh [WGMPSC_KO]
#   BENCH_ROUNDS (3), BENCH_DUR (10 s per iperf3 run), BENCH_NET_SMP
#   ("2 4"), KERNEL, BENCH_PREEMPT: as for bench.sh.
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export ONLY=profile
export BENCH_ROUNDS=${BENCH_ROUNDS:-3} BENCH_DUR=${BENCH_DUR:-10}
export BENCH_OUT_DIR=${BENCH_OUT_DIR:-$TOP/build/profile/out}
export BENCH_WORK=${BENCH_WORK:-$TOP/build/profile}
exec "$TOP/tools/bench/bench.sh" "$@"
