// SPDX-License-Identifier: Apache-2.0
/*
 * Test helper for the sensor's integration test: copies an executable into a
 * memfd and runs it with execveat(fd, "", AT_EMPTY_PATH) — the fileless
 * execution pattern the sensor must flag (proc.is_exe_from_memfd).
 * Usage: saker-memfd-exec <memfd-name> <program> [args...]
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s <memfd-name> <program> [args...]\n", argv[0]);
		return 2;
	}
	int src = open(argv[2], O_RDONLY | O_CLOEXEC);
	if (src < 0) {
		perror("open");
		return 1;
	}
	struct stat st;
	fstat(src, &st);
	int mfd = (int)syscall(SYS_memfd_create, argv[1], 0);
	if (mfd < 0) {
		perror("memfd_create");
		return 1;
	}
	off_t off = 0;
	while (off < st.st_size) {
		if (sendfile(mfd, src, &off, st.st_size - off) <= 0) {
			perror("sendfile");
			return 1;
		}
	}
	close(src);
	extern char **environ;
	syscall(SYS_execveat, mfd, "", &argv[2], environ, AT_EMPTY_PATH);
	perror("execveat");
	return 1;
}
