// SPDX-License-Identifier: Apache-2.0
/*
 * saker-sensor-loader: loads and attaches the Saker eBPF probe, then streams
 * its records to stdout in the framed format documented in docs/sensor.md:
 *
 *   stream header (32 bytes): "SAKRSENS" u16 version u16 header_len
 *                             u32 ncpus u64 boot_epoch_ns u32 loader_pid u32 0
 *   frames:                   u32 payload_len u16 type u16 flags, payload
 *
 * Usage: saker-sensor-loader --syscalls 59,257,42|all|none [--stats-ms 1000] [--verbose]
 * stdin: EOF (or "quit") stops the loader; a line "syscalls <ids>" replaces the
 * interest set while running. SIGTERM/SIGINT stop it too. A final stats frame
 * is written before exit.
 *
 * Exit codes: 0 clean stop, 2 usage, 3 environment (root/BTF/tracefs/bpf), 4 load/attach, 5 output.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "sensor.h"
#include "sensor.skel.h"

#define MAX_SYSCALL 512
#define TRACEFS_MAGIC_ 0x74726163
#define TRACEFS_DIR "/sys/kernel/tracing"
#define BTF_PATH "/sys/kernel/btf/vmlinux"
/* How often the ring is drained under load, when the probe sends no wakeup
 * (BPF_RB_NO_WAKEUP, see rb_flags in the probe): a record waits up to this
 * long under load (half of it on average). 250 passes a second cost the loader
 * nothing measurable; 10 ms added ~5 ms to every event's latency under load. */
#define DRAIN_MS 4
/* A drain pass that wrote fewer records than this finds the ring idle: the
 * probe is asked to wake the loader on the next record (wake_when_idle), so a
 * lone event is read at once. 100 records per pass is ~25,000 events/s on the
 * 4 ms timer. */
#define WAKE_BELOW 100
/* The least time between two drains while woken by records: at most 1,000
 * wakeups a second whatever the rate just under WAKE_BELOW; a record waits at
 * most this long more than the one that woke the loader. */
#define WAKE_GAP_NS 1000000ULL
/* Records written per ring_buffer__consume() call at most: a flood that
 * outpaces the reader would otherwise keep one call going for as long as it
 * lasts, and stdin ("syscalls ...", "quit", EOF) and the stats timer would
 * wait for its end. The loop polls again at once while records remain. */
#define DRAIN_BATCH 65536
static unsigned int drained_in_pass;

static volatile sig_atomic_t stop_requested;
static int verbose;
static int out_failed;

static void on_signal(int sig) { stop_requested = 1; (void)sig; }

static void die(int code, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "saker-sensor-loader: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && !verbose)
		return 0;
	if (level == LIBBPF_INFO && !verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/*
 * Output: frames are appended to one large buffer and written with a single
 * write(2) when it is nearly full or at the end of each drain of the ring
 * (the loop runs every DRAIN_MS at most), never one write per record.
 */
#define OUT_CAP (1u << 20)
static uint8_t outbuf[OUT_CAP];
static size_t out_len;

static void out_flush(void)
{
	size_t off = 0;
	while (!out_failed && off < out_len) {
		ssize_t w = write(STDOUT_FILENO, outbuf + off, out_len - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			out_failed = 1;
			break;
		}
		off += (size_t)w;
	}
	out_len = 0;
}

static void write_bytes(const void *p, size_t n)
{
	if (out_failed)
		return;
	if (out_len + n > OUT_CAP)
		out_flush();
	if (n > OUT_CAP) {
		/* cannot happen for records (at most 16 KiB) */
		out_failed = 1;
		return;
	}
	memcpy(outbuf + out_len, p, n);
	out_len += n;
}

static void write_frame(uint16_t type, const void *payload, uint32_t len)
{
	uint8_t fh[8];
	uint16_t f = 0;
	memcpy(fh, &len, 4);
	memcpy(fh + 4, &type, 2);
	memcpy(fh + 6, &f, 2);
	if (out_len + sizeof(fh) + len > OUT_CAP)
		out_flush();
	write_bytes(fh, sizeof(fh));
	write_bytes(payload, len);
}

static uint64_t clock_ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int on_record(void *ctx, void *data, size_t size)
{
	(void)ctx;
	if (size < sizeof(struct rec_hdr))
		return 0;
	const struct rec_hdr *h = data;
	/* The probe pads nothing: its own size field is authoritative. */
	uint32_t len = h->size <= size ? h->size : (uint32_t)size;
	write_frame(h->kind, data, len);
	if (out_failed)
		return -EPIPE;
	/* Stop the pass on SIGTERM/SIGINT (the loader then exits with its final
	 * stats frame instead of waiting for SIGKILL), or after DRAIN_BATCH
	 * records. libbpf has consumed this record already: nothing is lost. */
	if (stop_requested)
		return -EINTR;
	return ++drained_in_pass >= DRAIN_BATCH ? -EAGAIN : 0;
}

static void write_stats(struct sensor_bpf *skel, int ncpus)
{
	size_t n = (size_t)ncpus;
	struct sensor_stats *per = calloc(n, sizeof(*per));
	if (!per)
		return;
	uint32_t zero = 0;
	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.stats), &zero, per) != 0) {
		free(per);
		return;
	}
	size_t len = 16 + n * sizeof(*per);
	uint8_t *buf = malloc(len);
	if (!buf) {
		free(per);
		return;
	}
	uint32_t nc = ncpus, rec_size = sizeof(*per);
	uint64_t ts = clock_ns(CLOCK_BOOTTIME);
	memcpy(buf, &nc, 4);
	memcpy(buf + 4, &rec_size, 4);
	memcpy(buf + 8, &ts, 8);
	memcpy(buf + 16, per, n * sizeof(*per));
	write_frame(REC_STATS, buf, len);
	free(buf);
	free(per);
}

/* "59,257,42", "all" or "none" -> interest map. Unknown/out-of-range ids are a usage error. */
static int set_interest(struct sensor_bpf *skel, const char *spec, int strict)
{
	uint8_t want[MAX_SYSCALL] = {0};
	if (strcmp(spec, "all") == 0) {
		memset(want, 1, sizeof(want));
	} else if (strcmp(spec, "none") == 0) {
		/* only the process lifecycle (always on) */
	} else {
		char *copy = strdup(spec), *save = NULL;
		for (char *tok = strtok_r(copy, ", \n", &save); tok; tok = strtok_r(NULL, ", \n", &save)) {
			char *end;
			long id = strtol(tok, &end, 10);
			if (*end || id < 0 || id >= MAX_SYSCALL) {
				if (strict)
					die(2, "bad syscall id '%s' in --syscalls (want decimal x86_64 numbers 0..%d or 'all')",
					    tok, MAX_SYSCALL - 1);
				fprintf(stderr, "saker-sensor-loader: ignoring bad interest line (id '%s')\n", tok);
				free(copy);
				return -1;
			}
			want[id] = 1;
		}
		free(copy);
	}
	int fd = bpf_map__fd(skel->maps.interest);
	for (uint32_t i = 0; i < MAX_SYSCALL; i++) {
		if (bpf_map_update_elem(fd, &i, &want[i], BPF_ANY) != 0)
			die(4, "updating the interest map: %s", strerror(errno));
	}
	return 0;
}

static void check_environment(void)
{
	if (geteuid() != 0)
		die(3, "must run as root (euid is %d): loading eBPF programs needs CAP_BPF, CAP_PERFMON and CAP_SYS_RESOURCE", geteuid());
	if (access(BTF_PATH, R_OK) != 0)
		die(3, "kernel BTF %s is missing (%s): the CO-RE probe needs a kernel built with CONFIG_DEBUG_INFO_BTF=y",
		    BTF_PATH, strerror(errno));
	struct statfs sfs;
	if (statfs(TRACEFS_DIR, &sfs) != 0 || sfs.f_type != TRACEFS_MAGIC_) {
		if (mount("nodev", TRACEFS_DIR, "tracefs", 0, NULL) != 0)
			die(3, "tracefs is not mounted at %s and mounting it failed: %s (try: mount -t tracefs nodev %s)",
			    TRACEFS_DIR, strerror(errno), TRACEFS_DIR);
		if (verbose)
			fprintf(stderr, "saker-sensor-loader: mounted tracefs at %s\n", TRACEFS_DIR);
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: saker-sensor-loader --syscalls <id,id,...|all|none> [--stats-ms N] [--verbose]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *syscalls = NULL;
	long stats_ms = 1000;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--syscalls") == 0 && i + 1 < argc)
			syscalls = argv[++i];
		else if (strcmp(argv[i], "--stats-ms") == 0 && i + 1 < argc)
			stats_ms = strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--verbose") == 0)
			verbose = 1;
		else
			usage();
	}
	if (!syscalls || stats_ms <= 0)
		usage();

	check_environment();
	libbpf_set_print(libbpf_log);
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	int ncpus = libbpf_num_possible_cpus();
	if (ncpus <= 0)
		die(4, "cannot count possible CPUs: %s", strerror(-ncpus));

	struct sensor_bpf *skel = sensor_bpf__open();
	if (!skel)
		die(4, "opening the BPF object failed: %s", strerror(errno));
	skel->rodata->self_tgid = getpid();
	int err = sensor_bpf__load(skel);
	if (err) {
		if (err == -EPERM || err == -EACCES)
			die(3, "bpf() not permitted (%s): run as root with CAP_BPF/CAP_SYS_ADMIN, outside a seccomp "
			       "profile that blocks bpf(), and check kernel.unprivileged_bpf_disabled / lockdown",
			    strerror(-err));
		die(4, "loading the BPF programs failed: %s (rerun with --verbose for the verifier log)", strerror(-err));
	}
	set_interest(skel, syscalls, 1);
	err = sensor_bpf__attach(skel);
	if (err)
		die(4, "attaching the BPF programs failed: %s", strerror(-err));

	/*
	 * A bigger pipe means fewer reader/writer switches (best effort; 1 MiB is the default pipe-max-size).
	 * Spawned by the sensor, stdout is a socketpair and this fails: its send buffer is the bound
	 * (docs/sensor.md, Output).
	 */
	fcntl(STDOUT_FILENO, F_SETPIPE_SZ, 1 << 20);

	struct ring_buffer *rb = ring_buffer__new(bpf_map__fd(skel->maps.events), on_record, NULL, NULL);
	if (!rb)
		die(4, "creating the ring buffer reader failed: %s", strerror(errno));

	/* Stream header: written only once the probe is attached, so the reader knows it is live. */
	uint8_t hdr[32] = {0};
	uint16_t version = SAKER_STREAM_VERSION, hlen = sizeof(hdr);
	uint32_t nc = ncpus, lpid = getpid();
	uint64_t boot_epoch = clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_BOOTTIME);
	memcpy(hdr, "SAKRSENS", 8);
	memcpy(hdr + 8, &version, 2);
	memcpy(hdr + 10, &hlen, 2);
	memcpy(hdr + 12, &nc, 4);
	memcpy(hdr + 16, &boot_epoch, 8);
	memcpy(hdr + 24, &lpid, 4);
	write_bytes(hdr, sizeof(hdr));
	out_flush();

	struct pollfd pfds[2] = {
		{.fd = ring_buffer__epoll_fd(rb), .events = POLLIN},
		{.fd = STDIN_FILENO, .events = POLLIN},
	};
	uint64_t next_stats = clock_ns(CLOCK_MONOTONIC) + (uint64_t)stats_ms * 1000000ULL;
	char line[4096];
	size_t line_len = 0;
	int stdin_open = 1;

	uint64_t last_drain = 0;
	skel->bss->wake_when_idle = 1;
	while (!stop_requested && !out_failed) {
		/* Woken by the ring's first record while idle, or drained on the timer under load. */
		int n = poll(pfds, stdin_open ? 2 : 1, DRAIN_MS);
		if (n < 0 && errno != EINTR)
			die(4, "poll: %s", strerror(errno));
		uint64_t since = clock_ns(CLOCK_MONOTONIC) - last_drain;
		/* Only while woken by records: under load the loop drains as before. */
		if (skel->bss->wake_when_idle && n > 0 && (pfds[0].revents & POLLIN) && since < WAKE_GAP_NS) {
			struct timespec gap = {.tv_sec = 0, .tv_nsec = (long)(WAKE_GAP_NS - since)};
			nanosleep(&gap, NULL);
		}
		drained_in_pass = 0;
		ring_buffer__consume(rb);
		last_drain = clock_ns(CLOCK_MONOTONIC);
		skel->bss->wake_when_idle = drained_in_pass < WAKE_BELOW;
		if (stdin_open && n > 0 && (pfds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t r = read(STDIN_FILENO, line + line_len, sizeof(line) - 1 - line_len);
			if (r <= 0) {
				break; /* EOF: the parent went away */
			}
			line_len += r;
			line[line_len] = 0;
			char *nl;
			while ((nl = strchr(line, '\n'))) {
				*nl = 0;
				if (strcmp(line, "quit") == 0)
					stop_requested = 1;
				else if (strncmp(line, "syscalls ", 9) == 0)
					set_interest(skel, line + 9, 0);
				size_t used = nl + 1 - line;
				memmove(line, nl + 1, line_len - used + 1);
				line_len -= used;
			}
			if (line_len == sizeof(line) - 1)
				line_len = 0; /* overlong line: discard */
		}
		uint64_t now = clock_ns(CLOCK_MONOTONIC);
		if (now >= next_stats) {
			write_stats(skel, ncpus);
			next_stats = now + (uint64_t)stats_ms * 1000000ULL;
		}
		out_flush();
	}
	drained_in_pass = 0;
	ring_buffer__consume(rb);
	write_stats(skel, ncpus);
	out_flush();
	ring_buffer__free(rb);
	sensor_bpf__destroy(skel);
	return out_failed ? 5 : 0;
}
