#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The profile phase of `make bench` (tools/bench/profile.sh; sourced by
# guest.sh inside the VM): where the CPU time of a TCP stream through the
# tunnel goes, per MB received, for each module in turn.  Counters only,
# read before and after one iperf3 run, nothing sampled:
#
#   cpu_ms         CPU time not idle, all CPUs (/proc/stat user, nice,
#                  system, irq, softirq)
#   softirq_ms     of which softirq (/proc/stat)
#   net_rx, net_tx NET_RX and NET_TX softirqs raised (/proc/softirqs)
#   ipi            function-call and rescheduling IPIs (/proc/interrupts
#                  CAL, RES): the cross-CPU hand-offs
#   ctxt           context switches (/proc/stat)
#   kworker_ms, ksoftirqd_ms, napi_ms, iperf3s_ms
#                  CPU time of the threads by name (/proc/*/task/*/schedstat):
#                  workqueue workers (wgmpsc's crypto workers and peer work,
#                  the in-tree driver's crypto and handshake workers),
#                  softirq threads, threaded NAPI, the iperf3 server (the
#                  client exits before the second reading: not counted)
#
# Reported per MB (10^6 bytes) the server received, for 1 and 4 streams,
# $BENCH_ROUNDS rounds, module order alternating per round.
#
# BENCH_PERF=1 also samples every CPU with perf (cpu-clock, 499 Hz; the
# host's /usr/bin/perf, which the guest sees) during each run and writes
# the kernel functions' shares to raw/profile-*.perf.txt: where the time
# goes inside the kernel, which the counters above cannot say.  The
# sampling costs throughput; its runs are for reading, not comparing.

# prof_perf_start BASE / prof_perf_stop BASE: perf around one run.  perf
# runs a placeholder child, which it starts only once it is sampling (its
# setup takes seconds under TCG), and stops when the child is killed.
prof_perf_start() {
	local i
	[ "${BENCH_PERF:-0}" = 1 ] || return 0
	echo 0 >/proc/sys/kernel/kptr_restrict
	echo -1 >/proc/sys/kernel/perf_event_paranoid
	# The data on the guest's own tmpfs, not on the results' 9p.
	perf record -a -e cpu-clock -F 499 -o /tmp/profile.perf.data \
		-- sleep 3600 >"$1.perf.err" 2>&1 &
	PERF_PID=$!
	for i in $(seq 300); do
		PERF_CHILD=$(pgrep -P "$PERF_PID" -x sleep) && return 0
		sleep 0.1
	done
	note "perf did not start"
	kill "$PERF_PID" 2>/dev/null
	wait "$PERF_PID" 2>/dev/null
	PERF_CHILD=
	return 1
}

prof_perf_stop() {
	[ "${BENCH_PERF:-0}" = 1 ] && [ -n "$PERF_CHILD" ] || return 0
	kill "$PERF_CHILD" 2>/dev/null
	wait "$PERF_PID" 2>/dev/null
	perf report -i /tmp/profile.perf.data --stdio --no-children --sort sym \
		--percent-limit 0.3 2>/dev/null | grep -v '^$' >"$1.perf.txt"
	rm -f /tmp/profile.perf.data
}

# prof_snap: one "key value" line per counter, all threads' times summed
# by their name's class.
prof_snap() {
	awk '$1 == "cpu" { printf "cpu_ticks %d\nsoftirq_ticks %d\n", $2 + $3 + $4 + $7 + $8, $8 }
		$1 == "ctxt" { printf "ctxt %d\n", $2 }' /proc/stat
	awk '$1 == "NET_RX:" || $1 == "NET_TX:" { s = 0; for (i = 2; i <= NF; i++) s += $i
		printf "%s %d\n", tolower(substr($1, 1, 6)), s }' /proc/softirqs
	awk '$1 == "CAL:" || $1 == "RES:" { for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i }
		END { printf "ipi %d\n", s }' /proc/interrupts
	local t comm ns
	for t in /proc/[0-9]*/task/[0-9]*; do
		read -r comm 2>/dev/null <"$t/comm" || continue
		read -r ns _ 2>/dev/null <"$t/schedstat" || continue
		case $comm in
		kworker/*) echo "kworker_ns $ns" ;;
		ksoftirqd/*) echo "ksoftirqd_ns $ns" ;;
		napi/*) echo "napi_ns $ns" ;;
		iperf3) echo "iperf3s_ns $ns" ;;
		esac
	done | awk '{ s[$1] += $2 } END { for (k in s) print k, s[k] }'
}

# prof_report ROUND MODULE STREAMS BEFORE AFTER JSON: the deltas per MB.
prof_report() {
	local r=$1 mod=$2 n=$3 bytes
	bytes=$(awk '/"sum_received"/ { f = 1 } f && /"bytes"/ {
		gsub(/[,"]/, ""); print $2; exit }' "$6")
	if [ -z "$bytes" ] || [ "$bytes" -le 0 ]; then
		note "$mod: no bytes received"
		return 1
	fi
	result profile "$r" "$mod" "tcp${n}_mbps" "$(iperf_mbps "$6")"
	awk -v mb="$(awk -v b="$bytes" 'BEGIN { print b / 1e6 }')" -v hz="$(getconf CLK_TCK 2>/dev/null || echo 100)" '
		FNR == NR { a[$1] = $2; next } { b[$1] = $2 }
		END {
			d["cpu_ms"] = (b["cpu_ticks"] - a["cpu_ticks"]) * 1000 / hz
			d["softirq_ms"] = (b["softirq_ticks"] - a["softirq_ticks"]) * 1000 / hz
			d["net_rx"] = b["net_rx"] - a["net_rx"]
			d["net_tx"] = b["net_tx"] - a["net_tx"]
			d["ipi"] = b["ipi"] - a["ipi"]
			d["ctxt"] = b["ctxt"] - a["ctxt"]
			split("kworker ksoftirqd napi iperf3s", th, " ")
			for (i in th)
				d[th[i] "_ms"] = (b[th[i] "_ns"] - a[th[i] "_ns"]) / 1e6
			for (k in d) printf "%s %.2f\n", k, d[k] / mb
		}' "$4" "$5" | sort | while read -r k v; do
		result profile "$r" "$mod" "tcp${n}_${k}_per_mb" "$v"
	done
}

phase_profile() {
	local r mod order n base err=0
	for r in $(seq "$BENCH_ROUNDS"); do
		if [ $((r % 2)) = 1 ]; then order="anchor wgmpsc"; else order="wgmpsc anchor"; fi
		note "profile round $r/$BENCH_ROUNDS: $order"
		for mod in $order; do
			load "$mod" || return 1
			netns_up || return 1
			if tunnel_up; then
				for n in 1 4; do
					base=$BENCH_OUT/raw/profile-$SMP-$r-$mod-tcp$n
					settle 1
					prof_perf_start "$base"
					prof_snap >"$base.before"
					iperf "$TUN_B" "$base.json" -P "$n"
					prof_snap >"$base.after"
					prof_perf_stop "$base"
					prof_report "$r" "$mod" "$n" "$base.before" "$base.after" "$base.json" ||
						err=1
				done
			else
				err=1
			fi
			round_down "$mod" || return 1
		done
	done
	return "$err"
}
