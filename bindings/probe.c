/* lunshare-probe: what `lunshare test` runs inside a sandbox to see whether the recipe's
 * isolation holds, by trying it: read a path, connect to an address, look for anything
 * writable outside one directory. A small static program (no sanitizer, no libraries
 * beyond libc), bound read-only into the sandbox for the check, so that it runs in any
 * recipe's root and under any of its limits, whatever the recipe's own program is.
 *
 *   lunshare-probe read PATH [DEV:INO]       open and read a byte (or a directory entry);
 *                                            with DEV:INO, what was read counts only if
 *                                            it is that file (the host's, through a bind)
 *   lunshare-probe connect HOST PORT [MS]    a TCP connect, MS milliseconds at most
 *   lunshare-probe writes DIR [PRIVATE…]     any path writable outside DIR, beside the
 *                                            mount points PRIVATE of the sandbox's own
 *                                            filesystems (tmpfs, proc, dev)
 *
 * Exit status: 0 when what it tried could be done (the path read, the address reached,
 * something writable found, printed on stdout), 1 when it could not (the reason on
 * stdout), 2 when it could not tell (bad arguments, /proc unreadable). Nothing is ever
 * written: writability is asked of the kernel with faccessat(AT_EACCESS), which counts
 * read-only mounts, permissions and the sandbox's own ids. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

static int usage(void)
{
	fputs("usage: lunshare-probe read PATH | connect HOST PORT [MS] | writes DIR [PRIVATE...]\n", stderr);
	return 2;
}

static int probe_read(const char *path, const char *id)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		printf("cannot open %s: %s\n", path, strerror(errno));
		return 1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		printf("cannot stat %s: %s\n", path, strerror(errno));
		close(fd);
		return 2;
	}
	/* A bind shows the host's own inode; anything else by that name (a tmpfs home, a
	 * file the sandbox made) is not the host's file. */
	if (id) {
		char mine[64];
		snprintf(mine, sizeof mine, "%llu:%llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
		if (strcmp(mine, id) != 0) {
			printf("%s here is not the host's (%s, the host's is %s)\n", path, mine, id);
			close(fd);
			return 1;
		}
	}
	if (S_ISDIR(st.st_mode)) {
		DIR *d = fdopendir(fd);
		if (d == NULL) {
			printf("cannot list %s: %s\n", path, strerror(errno));
			close(fd);
			return 1;
		}
		errno = 0;
		struct dirent *e;
		while ((e = readdir(d)) != NULL && (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0))
			;
		int listed = errno == 0;
		int err = errno;
		closedir(d);
		if (!listed) {
			printf("cannot list %s: %s\n", path, strerror(err));
			return 1;
		}
		printf("listed %s\n", path);
		return 0;
	}
	char c;
	ssize_t n = read(fd, &c, 1);
	int err = errno;
	close(fd);
	if (n < 0 && err != EAGAIN) {
		printf("cannot read %s: %s\n", path, strerror(err));
		return 1;
	}
	printf("read %s\n", path);
	return 0;
}

static int probe_connect(const char *host, const char *port, int ms)
{
	struct sockaddr_storage ss;
	socklen_t len;
	memset(&ss, 0, sizeof ss);
	struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
	char *end;
	long p = strtol(port, &end, 10);
	if (*end || p < 1 || p > 65535) {
		printf("bad port %s\n", port);
		return 2;
	}
	/* Numbers only: a name lookup would need the sandbox's resolver and NSS. */
	if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)p);
		len = sizeof *v4;
	} else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)p);
		len = sizeof *v6;
	} else {
		printf("bad address %s (an IPv4 or IPv6 address)\n", host);
		return 2;
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		printf("cannot make a socket: %s\n", strerror(errno));
		return 1;
	}
	int e = 0;
	if (connect(fd, (struct sockaddr *)&ss, len) < 0) {
		e = errno;
		if (e == EINPROGRESS) {
			struct pollfd pf = { fd, POLLOUT, 0 };
			int n = poll(&pf, 1, ms);
			socklen_t elen = sizeof e;
			if (n == 0)
				e = ETIMEDOUT;
			else if (n < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) < 0)
				e = errno;
		}
	}
	close(fd);
	if (e != 0) {
		printf("cannot reach %s port %s: %s\n", host, port, strerror(e));
		return 1;
	}
	printf("reached %s port %s\n", host, port);
	return 0;
}

/* ---- writes ----------------------------------------------------------------------- */

/* The entries looked at below one mount: a writable tree is found near its top, and a
 * read-only mount is skipped whole. */
enum { MAX_MOUNTS = 512, MAX_ENTRIES = 5000, MAX_FOUND = 8 };

struct walk {
	const char *dir;	/* the one directory that may be written */
	char *mounts[MAX_MOUNTS];
	int nmounts;
	int entries, found;
};

/* Whether path is dir or beneath it. */
static int within(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (n == 1 && dir[0] == '/')
		return 1;
	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static int is_mount(const struct walk *w, const char *path)
{
	for (int i = 0; i < w->nmounts; i++)
		if (strcmp(w->mounts[i], path) == 0)
			return 1;
	return 0;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape(char *s)
{
	char *o = s;
	for (char *p = s; *p; p++) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' && p[3] >= '0' && p[3] <= '7') {
			*o++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
			p += 3;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
}

static void report(struct walk *w, const char *path)
{
	if (w->found < MAX_FOUND)
		printf("writable: %s\n", path);
	w->found++;
}

/* Looks at path and, for a directory, everything below it on the same mount. */
static void walk_tree(struct walk *w, const char *path, int depth, int top)
{
	if (w->entries++ >= MAX_ENTRIES || within(path, w->dir))
		return;
	if (!top && is_mount(w, path))
		return; /* its own mount is looked at on its own */
	struct stat st;
	if (lstat(path, &st) < 0)
		return;
	if (S_ISLNK(st.st_mode) || S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode) ||
	    S_ISSOCK(st.st_mode))
		return; /* devices are the devices check's; a symlink is looked at where it points */
	if (faccessat(AT_FDCWD, path, W_OK, AT_EACCESS) == 0)
		report(w, path);
	if (!S_ISDIR(st.st_mode) || depth >= 16)
		return;
	DIR *d = opendir(path);
	if (d == NULL)
		return;
	struct dirent *e;
	while ((e = readdir(d)) != NULL && w->entries < MAX_ENTRIES) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char sub[4096];
		if ((size_t)snprintf(sub, sizeof sub, "%s%s%s", path, strcmp(path, "/") == 0 ? "" : "/", e->d_name) >=
		    sizeof sub)
			continue;
		walk_tree(w, sub, depth + 1, 0);
	}
	closedir(d);
}

static int probe_writes(const char *dir, char **private, int nprivate)
{
	struct walk w;
	memset(&w, 0, sizeof w);
	w.dir = dir;
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (f == NULL) {
		/* No /proc: the whole tree from / is one walk. */
		w.mounts[w.nmounts++] = strdup("/");
	} else {
		char line[8192];
		while (fgets(line, sizeof line, f) && w.nmounts < MAX_MOUNTS) {
			/* id parent major:minor root MOUNTPOINT … */
			char *save = NULL, *field = strtok_r(line, " ", &save);
			for (int i = 0; field && i < 4; i++)
				field = strtok_r(NULL, " ", &save);
			if (field == NULL)
				continue;
			unescape(field);
			if (!is_mount(&w, field))
				w.mounts[w.nmounts++] = strdup(field);
		}
		fclose(f);
	}
	for (int i = 0; i < w.nmounts; i++) {
		int skip = 0;
		for (int j = 0; j < nprivate && !skip; j++)
			skip = strcmp(w.mounts[i], private[j]) == 0;
		struct statvfs sv;
		/* Nothing below a read-only mount can be written (a mount below it is its own). */
		if (!skip && statvfs(w.mounts[i], &sv) == 0 && (sv.f_flag & ST_RDONLY))
			skip = 1;
		if (!skip) {
			w.entries = 0;
			walk_tree(&w, w.mounts[i], 0, 1);
		}
	}
	for (int i = 0; i < w.nmounts; i++)
		free(w.mounts[i]);
	if (w.found > MAX_FOUND)
		printf("writable: … and %d more\n", w.found - MAX_FOUND);
	if (w.found == 0) {
		printf("nothing writable outside %s\n", dir);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if ((argc == 3 || argc == 4) && strcmp(argv[1], "read") == 0)
		return probe_read(argv[2], argc == 4 ? argv[3] : NULL);
	if ((argc == 4 || argc == 5) && strcmp(argv[1], "connect") == 0)
		return probe_connect(argv[2], argv[3], argc == 5 ? atoi(argv[4]) : 3000);
	if (argc >= 3 && strcmp(argv[1], "writes") == 0)
		return probe_writes(argv[2], argv + 3, argc - 3);
	return usage();
}
