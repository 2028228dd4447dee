/* Host-side helpers of the containment suite (not probes):
 *   helper listen PORT NAME   listen on 127.0.0.1:PORT (0: a free port) and on the abstract
 *                             socket @NAME, print "ready PORT", accept until killed
 *   helper addkey CMD...      add a key "lsh-probe" to a new session keyring, then run
 *                             CMD with its serial appended ({} in CMD is replaced) */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <linux/keyctl.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

static int do_listen(const char *port, const char *name)
{
	int t = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port)) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(t, (struct sockaddr *)&a, sizeof a) < 0 || listen(t, 16) < 0) {
		perror("tcp");
		return 1;
	}
	int u = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un ua = { .sun_family = AF_UNIX };
	size_t n = strlen(name);
	memcpy(ua.sun_path + 1, name, n);
	if (bind(u, (struct sockaddr *)&ua, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n)) < 0 ||
	    listen(u, 16) < 0) {
		perror("unix");
		return 1;
	}
	socklen_t alen = sizeof a;
	if (getsockname(t, (struct sockaddr *)&a, &alen) < 0) {
		perror("getsockname");
		return 1;
	}
	printf("ready %u\n", (unsigned)ntohs(a.sin_port));
	fflush(stdout);
	struct pollfd p[2] = { { t, POLLIN, 0 }, { u, POLLIN, 0 } };
	for (;;) {
		if (poll(p, 2, -1) < 0)
			continue;
		for (int i = 0; i < 2; i++)
			if (p[i].revents & POLLIN) {
				int c = accept(p[i].fd, NULL, NULL);
				if (c >= 0)
					close(c);
			}
	}
}

static int do_addkey(int argc, char **argv)
{
	if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL) < 0) {
		perror("join session keyring");
		return 1;
	}
	long key = syscall(SYS_add_key, "user", "lsh-probe", "lunshare-secret", 15, KEY_SPEC_SESSION_KEYRING);
	if (key < 0) {
		perror("add_key");
		return 1;
	}
	char serial[32];
	snprintf(serial, sizeof serial, "%ld", key);
	for (int i = 0; i < argc; i++)
		if (strcmp(argv[i], "{}") == 0)
			argv[i] = serial;
	execvp(argv[0], argv);
	perror("exec");
	return 127;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "listen") == 0)
		return do_listen(argv[2], argv[3]);
	if (argc >= 3 && strcmp(argv[1], "addkey") == 0)
		return do_addkey(argc - 2, argv + 2);
	fprintf(stderr, "usage: helper listen PORT NAME | helper addkey CMD... ({} is the serial)\n");
	return 2;
}
