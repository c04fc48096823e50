// SPDX-License-Identifier: GPL-2.0
/*
 * qbench-native: wgmpsc's MPSC queue (src/mpsc.c, unmodified) against a
 * spinlocked list and the kernel's ptr_ring, in userspace on this
 * machine's own cores, where tools/bench/kmod can only run under QEMU TCG.
 * The queues and their loops are in queues.c; this is the harness.
 *
 *   qbench-native [-q] [-n ITEMS] [-r REPS] [-t SECONDS] [-s FILE]
 *
 *   -n  items per run, split over the producers (default 2,000,000)
 *   -r  repetitions of every case and queue (default 7)
 *   -t  a run that takes longer fails (default 60 s)
 *   -q  quick: 50,000 items, 3 repetitions, 10 s (the bench smoke run)
 *   -s  also write every measure to FILE, one line each in the format of
 *       tools/bench/report.py's samples: R native native NCPUS REP KIND
 *       METRIC VALUE
 *
 * A run: the producers, each pinned to its CPU with sched_setaffinity(),
 * wait for the consumer's start signal, then enqueue their items as fast
 * as the queue takes them (a refused enqueue is retried); the consumer,
 * pinned too, dequeues and checks every item, and times each batch of
 * QB_BATCH.  A run's ns per item, enqueue and dequeue together, is its
 * median batch's (see measure() for when it is the whole run's).  A
 * repetition runs every case and queue once, the queues' order rotating,
 * so that a change of host load falls on all of them; figures are the
 * median over repetitions with min and max, ratios are per repetition.
 * The load average and a cache line's round trip between the CPUs are
 * printed with them: on a shared VM both move from minute to minute.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "qbench.h"

/*
 * Where the threads run: slot 0 is the consumer's CPU, slot k the k-th
 * allowed CPU after it (modulo their number).  With two CPUs, two
 * producers and a consumer cannot all have a CPU of their own: both
 * placements are measured, and "2p" only where there are three CPUs.
 */
struct qb_case {
	const char *name;
	const char *what;
	unsigned int producers;
	unsigned int slot[QB_MAX_PRODUCERS];
	int min_cpus;
};

static const struct qb_case cases[] = {
	{ "1p", "1 producer, the consumer on another CPU", 1, { 1 }, 1 },
	{ "2p-same", "2 producers sharing one CPU, the consumer on another",
	  2, { 1, 1 }, 1 },
	{ "2p-split", "2 producers on two CPUs, one sharing the consumer's",
	  2, { 1, 0 }, 1 },
	{ "2p", "2 producers and the consumer, a CPU each", 2, { 1, 2 }, 3 },
};
#define NCASES	(sizeof(cases) / sizeof(cases[0]))

struct producer_arg {
	struct qb_run *run;
	unsigned int index;
	int cpu;
};

static int cpus[CPU_SETSIZE], ncpus;

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		perror("qbench-native: sched_setaffinity");
		exit(1);
	}
}

static int case_cpu(unsigned int slot)
{
	return cpus[slot % (unsigned int)ncpus];
}

/* The threads of @c that share a CPU with another: see qb_run_new(). */
static unsigned int yielders(const struct qb_case *c)
{
	int cpu[1 + QB_MAX_PRODUCERS];
	unsigned int n = 1 + c->producers, i, j, mask = 0;

	cpu[0] = case_cpu(0);
	for (i = 0; i < c->producers; i++)
		cpu[1 + i] = case_cpu(c->slot[i]);
	for (i = 0; i < n; i++)
		for (j = 0; j < n; j++)
			if (i != j && cpu[i] == cpu[j])
				mask |= 1u << i;
	return mask;
}

static void *producer_main(void *p)
{
	struct producer_arg *arg = p;

	pin(arg->cpu);
	qb_produce(arg->run, arg->index);
	return NULL;
}

/* One run of a case with a queue; the calling thread is the consumer. */
static void run_one(const struct qb_case *c, enum qb_kind kind,
		    unsigned long long items, unsigned long long timeout_ns,
		    struct qb_result *res)
{
	struct producer_arg args[QB_MAX_PRODUCERS];
	pthread_t threads[QB_MAX_PRODUCERS];
	struct qb_run *run;
	char err[160] = "";
	unsigned int i;
	bool ok;

	run = qb_run_new(kind, c->producers, items / c->producers, timeout_ns,
			 yielders(c));
	if (!run) {
		fprintf(stderr, "qbench-native: out of memory\n");
		exit(1);
	}
	pin(case_cpu(0));
	for (i = 0; i < c->producers; i++) {
		args[i] = (struct producer_arg){ run, i, case_cpu(c->slot[i]) };
		if (pthread_create(&threads[i], NULL, producer_main, &args[i])) {
			fprintf(stderr, "qbench-native: pthread_create failed\n");
			exit(1);
		}
	}
	memset(res, 0, sizeof(*res));
	ok = qb_consume(run, res, err, sizeof(err));
	for (i = 0; i < c->producers; i++)
		pthread_join(threads[i], NULL);
	if (!ok) {
		fprintf(stderr, "qbench-native: FAIL: %s, %s: %s\n", c->name,
			qb_kind_name[kind], err);
		exit(1);
	}
	qb_collect(run, res);
	qb_run_free(run);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Median, min and max of @n values (sorted in place). */
static void summary(double *v, int n, double *med, double *lo, double *hi)
{
	qsort(v, n, sizeof(*v), cmp_double);
	*med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	*lo = v[0];
	*hi = v[n - 1];
}

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/*
 * The round trip of one cache line between the consumer's CPU and the
 * next one, the floor under any cross-CPU queue: the figures read against
 * it (the vCPUs of a cloud VM may sit on distant cores).  The median of
 * PP_CHUNKS chunks, so that a preemption by another process spoils one.
 */
enum { PP_CHUNKS = 21, PP_TRIPS = 2000 };
static unsigned long pp_line __attribute__((__aligned__(64)));

static void *pp_far(void *arg)
{
	unsigned long i;

	pin(*(int *)arg);
	for (i = 1; i <= (unsigned long)PP_CHUNKS * PP_TRIPS; i++) {
		while (__atomic_load_n(&pp_line, __ATOMIC_ACQUIRE) != 2 * i - 1)
			;
		__atomic_store_n(&pp_line, 2 * i, __ATOMIC_RELEASE);
	}
	return NULL;
}

static double line_round_trip_ns(void)
{
	double chunk[PP_CHUNKS], med, lo, hi;
	int far = case_cpu(1), c;
	unsigned long i = 0;
	pthread_t t;

	pin(case_cpu(0));
	pp_line = 0;
	if (pthread_create(&t, NULL, pp_far, &far)) {
		fprintf(stderr, "qbench-native: pthread_create failed\n");
		exit(1);
	}
	for (c = 0; c < PP_CHUNKS; c++) {
		unsigned long long t0 = now_ns();
		unsigned long end = i + PP_TRIPS;

		while (i < end) {
			i++;
			__atomic_store_n(&pp_line, 2 * i - 1, __ATOMIC_RELEASE);
			while (__atomic_load_n(&pp_line, __ATOMIC_ACQUIRE) !=
			       2 * i)
				;
		}
		chunk[c] = (double)(now_ns() - t0) / PP_TRIPS;
	}
	pthread_join(t, NULL);
	summary(chunk, PP_CHUNKS, &med, &lo, &hi);
	return med;
}

static void loadavg(char *buf, size_t len, double *one)
{
	FILE *f = fopen("/proc/loadavg", "r");
	double a = -1, b = -1, c = -1;

	if (!f || fscanf(f, "%lf %lf %lf", &a, &b, &c) != 3)
		snprintf(buf, len, "unknown");
	else
		snprintf(buf, len, "%.2f %.2f %.2f", a, b, c);
	if (f)
		fclose(f);
	if (one)
		*one = a;
}

static void cpu_model(char *buf, size_t len)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[256], *v;

	snprintf(buf, len, "unknown CPU");
	while (f && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "model name", 10) || !(v = strchr(line, ':')))
			continue;
		v += strspn(v + 1, " \t") + 1;
		v[strcspn(v, "\n")] = 0;
		snprintf(buf, len, "%s", v);
		break;
	}
	if (f)
		fclose(f);
}

/*
 * The measures of a run, by name.  The headline, "ns_per_item", is the
 * median QB_BATCH-item batch's time per item, "batch_ns_per_item": the
 * steady state.  A preemption by another process of the host (a shared
 * machine) spoils a few batches, which the median leaves out; the whole
 * run's time per item, "run_ns_per_item", has it in, and so follows the
 * host's load.  Where the consumer shares its CPU with a producer
 * (2p-split on two CPUs), their turns are part of the cost and the
 * batches are bimodal (turns with and without the producer): there the
 * headline is the whole run's.
 */
static const char *const measure_name[] = {
	"ns_per_item", "run_ns_per_item", "batch_ns_per_item",
	"full_per_item", "starved_per_item", "empty_per_item",
};
#define NMEASURES	(sizeof(measure_name) / sizeof(measure_name[0]))

static bool whole_run_headline(const struct qb_case *c)
{
	return yielders(c) & 1;
}

static double measure(const struct qb_case *c, const struct qb_result *r,
		      unsigned int which)
{
	switch (which) {
	case 0:
		return measure(c, r, whole_run_headline(c) ? 1 : 2);
	case 1:
		return (double)r->ns / r->items;
	case 2:
		return r->batch_ns_per_item;
	case 3:
		return (double)r->full / r->items;
	case 4:
		return (double)r->starved / r->items;
	default:
		return (double)r->empty / r->items;
	}
}

static void write_samples(FILE *f, const struct qb_case *c,
			  enum qb_kind kind, int rep,
			  const struct qb_result *r)
{
	unsigned int m;

	for (m = 0; m < NMEASURES; m++)
		fprintf(f, "R native native %d %d %s %s_%s %.4f\n", ncpus,
			rep + 1, qb_kind_name[kind], measure_name[m], c->name,
			measure(c, r, m));
}

/* Median (min-max) over repetitions of measure @which of @kind. */
static void over_reps(const struct qb_case *c, struct qb_result (*res)[64],
		      int reps, enum qb_kind kind, unsigned int which,
		      double out[3])
{
	double v[64];
	int rep;

	for (rep = 0; rep < reps; rep++)
		v[rep] = measure(c, &res[kind][rep], which);
	summary(v, reps, &out[0], &out[1], &out[2]);
}

static void print_case(const struct qb_case *c, struct qb_result (*res)[64],
		       int reps)
{
	unsigned int i;
	int k, rep;

	printf("\ncase %s: %s (consumer CPU %d, producers CPU", c->name,
	       c->what, case_cpu(0));
	for (i = 0; i < c->producers; i++)
		printf(" %d", case_cpu(c->slot[i]));
	printf(")%s\n  %-13s %-22s %-18s %-22s %-22s %6s %6s %6s\n",
	       whole_run_headline(c) ?
	       "\n  the consumer shares its CPU: ns/item is the whole run's" : "",
	       "queue", "ns/item", "ratio to mpsc", "whole run",
	       "median batch", "full", "waited", "empty");
	for (k = 0; k < QB_KINDS; k++) {
		double m[NMEASURES][3], q[3], ratio[64];
		unsigned int w;

		for (w = 0; w < NMEASURES; w++)
			over_reps(c, res, reps, k, w, m[w]);
		/* Per repetition: both ran seconds apart at most. */
		for (rep = 0; rep < reps; rep++)
			ratio[rep] = measure(c, &res[k][rep], 0) /
				     measure(c, &res[QB_MPSC][rep], 0);
		summary(ratio, reps, &q[0], &q[1], &q[2]);
		printf("  %-13s", qb_kind_name[k]);
		printf(" %6.1f (%6.1f-%6.1f)", m[0][0], m[0][1], m[0][2]);
		printf("  %4.2f (%4.2f-%4.2f)", q[0], q[1], q[2]);
		for (w = 1; w <= 2; w++)
			printf("   %6.1f (%6.1f-%6.1f)", m[w][0], m[w][1],
			       m[w][2]);
		for (w = 3; w < NMEASURES; w++)
			printf(" %6.3f", m[w][0]);
		printf("\n");
	}
}

static void print_bound_cost(const struct qb_case *c,
			     struct qb_result (*res)[64], int reps)
{
	static const enum qb_kind bounded[] = {
		QB_MPSC_COUNTED, QB_MPSC_BOUNDED
	};
	unsigned int b;
	int rep;

	printf("  %-9s", c->name);
	for (b = 0; b < 2; b++) {
		double d[64], med, lo, hi;

		for (rep = 0; rep < reps; rep++)
			d[rep] = measure(c, &res[bounded[b]][rep], 0) -
				 measure(c, &res[QB_MPSC][rep], 0);
		summary(d, reps, &med, &lo, &hi);
		printf("  %s %+6.1f (%+.1f..%+.1f)", qb_kind_name[bounded[b]],
		       med, lo, hi);
	}
	printf("\n");
}

static void usage(void)
{
	fprintf(stderr, "usage: qbench-native [-q] [-n ITEMS] [-r REPS] [-t SECONDS] [-s FILE]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned long long items = 2000000, timeout_s = 60;
	static struct qb_result res[NCASES][QB_KINDS][64];
	const char *samples_path = NULL;
	char model[128], load[64];
	FILE *samples = NULL;
	int reps = 7, opt, rep, k;
	unsigned int c, i;
	cpu_set_t allowed;
	double load1;

	while ((opt = getopt(argc, argv, "qn:r:t:s:")) != -1) {
		switch (opt) {
		case 'q':
			items = 50000;
			reps = 3;
			timeout_s = 10;
			break;
		case 'n':
			items = strtoull(optarg, NULL, 10);
			break;
		case 'r':
			reps = atoi(optarg);
			break;
		case 't':
			timeout_s = strtoull(optarg, NULL, 10);
			break;
		case 's':
			samples_path = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || items < QB_MAX_PRODUCERS || reps < 1 ||
	    reps > 64 || !timeout_s)
		usage();
	if (samples_path && !(samples = fopen(samples_path, "w"))) {
		perror(samples_path);
		return 1;
	}
	if (sched_getaffinity(0, sizeof(allowed), &allowed)) {
		perror("qbench-native: sched_getaffinity");
		return 1;
	}
	for (i = 0; i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, &allowed))
			cpus[ncpus++] = i;

	cpu_model(model, sizeof(model));
	loadavg(load, sizeof(load), NULL);
	printf("qbench-native: wgmpsc's src/mpsc.c vs a spinlocked list vs ptr_ring, natively\n");
	printf("host: %s, %d CPUs allowed (consumer on CPU %d); load average at start: %s\n",
	       model, ncpus, cpus[0], load);
	printf("ptr_ring.h: %s\n", qb_ptr_ring_h);
	printf("%llu items per run, %d repetitions, capacity %d, pool %d items per producer, credits per %d\n",
	       items, reps, QB_CAPACITY, QB_POOL, QB_CREDIT_BATCH);
	fflush(stdout);

	for (rep = 0; rep < reps; rep++) {
		double trip = ncpus > 1 ? line_round_trip_ns() : 0;

		loadavg(load, sizeof(load), &load1);
		printf("repetition %d/%d: load average %s; a cache line's round trip CPU %d -> %d -> %d: %.0f ns\n",
		       rep + 1, reps, load, case_cpu(0), case_cpu(1),
		       case_cpu(0), trip);
		fflush(stdout);
		if (samples) {
			fprintf(samples, "R native native %d %d host loadavg1 %.2f\n",
				ncpus, rep + 1, load1);
			fprintf(samples, "R native native %d %d host line_round_trip_ns %.1f\n",
				ncpus, rep + 1, trip);
		}
		for (c = 0; c < NCASES; c++) {
			if (ncpus < cases[c].min_cpus)
				continue;
			for (k = 0; k < QB_KINDS; k++) {
				enum qb_kind kind = (k + rep) % QB_KINDS;
				struct qb_result *r = &res[c][kind][rep];

				run_one(&cases[c], kind, items,
					timeout_s * 1000000000ULL, r);
				if (samples)
					write_samples(samples, &cases[c], kind,
						      rep, r);
			}
		}
	}
	if (samples && fclose(samples)) {
		perror(samples_path);
		return 1;
	}

	for (c = 0; c < NCASES; c++)
		if (ncpus >= cases[c].min_cpus)
			print_case(&cases[c], res[c], reps);
	printf("\nfull: refused enqueues per item; waited: items a producer waited for,\n"
	       "its whole pool queued; empty: dequeues that found nothing, per item\n");
	printf("\nthe cost of the bound: ns/item over plain wg_mpsc_enqueue(),\n"
	       "per repetition, median (min-max)\n");
	for (c = 0; c < NCASES; c++)
		if (ncpus >= cases[c].min_cpus)
			print_bound_cost(&cases[c], res[c], reps);
	loadavg(load, sizeof(load), NULL);
	printf("\nload average at end: %s\n", load);
	return 0;
}
