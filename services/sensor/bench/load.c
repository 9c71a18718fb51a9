// SPDX-License-Identifier: Apache-2.0
/*
 * Workload for bench/sensor.bench.ts, timed inside one process so that the
 * figure is the syscalls' cost and not the bench harness's:
 *   saker-bench-load open <n> [<per-second>]   openat(AT_FDCWD, "/etc/hostname") + close, n times
 *                                              (paced on an absolute schedule when a rate is given)
 *   saker-bench-load fork <n>                  fork + execve(/bin/true) + wait, n times
 * Prints "<ns total> <n> <cpu ns>" on stdout: wall time, iterations, and the
 * CPU time of this process and its waited-for children (user + system: the
 * probe's programs run in the traced task, so they are in it; waiting for a
 * CPU is not).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static unsigned long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static unsigned long long cpu_ns(void)
{
	struct rusage self, children;
	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &children);
	unsigned long long us = 0;
	const struct rusage *r[2] = { &self, &children };
	for (int i = 0; i < 2; i++)
		us += (unsigned long long)(r[i]->ru_utime.tv_sec + r[i]->ru_stime.tv_sec) * 1000000ULL +
		      (unsigned long long)(r[i]->ru_utime.tv_usec + r[i]->ru_stime.tv_usec);
	return us * 1000ULL;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s open|fork <n> [<per-second>]\n", argv[0]);
		return 2;
	}
	long n = atol(argv[2]);
	double rate = argc > 3 ? atof(argv[3]) : 0;
	unsigned long long cpu_start = cpu_ns();
	unsigned long long start = now_ns();
	if (strcmp(argv[1], "open") == 0) {
		const char *path = "/etc/hostname";
		for (long i = 0; i < n; i++) {
			if (rate > 0) {
				unsigned long long due = start + (unsigned long long)((double)i * 1e9 / rate);
				while (now_ns() < due)
					;
			}
			int fd = openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
			if (fd < 0) {
				perror("openat");
				return 1;
			}
			close(fd);
		}
	} else if (strcmp(argv[1], "fork") == 0) {
		for (long i = 0; i < n; i++) {
			pid_t p = fork();
			if (p < 0) {
				perror("fork");
				return 1;
			}
			if (p == 0) {
				char *args[] = { "true", NULL };
				execv("/bin/true", args);
				_exit(127);
			}
			int st;
			waitpid(p, &st, 0);
		}
	} else {
		fprintf(stderr, "unknown mode %s\n", argv[1]);
		return 2;
	}
	unsigned long long wall = now_ns() - start;
	printf("%llu %ld %llu\n", wall, n, cpu_ns() - cpu_start);
	return 0;
}
