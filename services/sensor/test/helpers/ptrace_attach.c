// SPDX-License-Identifier: Apache-2.0
/*
 * Test helper for the sensor's integration tests: forks a child that sleeps,
 * attaches to it with PTRACE_ATTACH, waits for the stop, detaches and reaps
 * it — the code-injection precondition "PTRACE attached to process" flags.
 * Prints the child's pid. Usage: saker-ptrace-attach
 */
#include <signal.h>
#include <stdio.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
	pid_t child = fork();
	if (child < 0) {
		perror("fork");
		return 1;
	}
	if (child == 0) {
		sleep(10);
		_exit(0);
	}
	if (ptrace(PTRACE_ATTACH, child, NULL, NULL) < 0) {
		perror("ptrace(PTRACE_ATTACH)");
		kill(child, SIGKILL);
		return 1;
	}
	int status = 0;
	waitpid(child, &status, 0);
	ptrace(PTRACE_DETACH, child, NULL, NULL);
	kill(child, SIGKILL);
	waitpid(child, &status, 0);
	printf("%d\n", child);
	return 0;
}
