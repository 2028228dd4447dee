/* The plan operations of helper programs: a program from Debian the supervisor starts
 * for the run and ends with it (pasta for user-mode networking, tinyproxy for an egress
 * allowlist), and the relay that carries the sandbox's proxy connections out to it.
 *
 * A helper is the supervisor's child, in a session of its own (a terminal's ^C reaches
 * the sandbox through the supervisor, never the helper directly), with PDEATHSIG so that
 * it dies should the supervisor be killed, and with the caller's signal mask back. It is
 * recorded for ending (SIGTERM, then SIGKILL) on every exit path. Its argv and files may
 * name what is known only at run time: {pid} the sandbox's first process, {dir} the run's
 * private state directory, {port} a free port on the host's loopback.
 *
 * With netns, the helper runs in a network namespace of its own, loopback only (for a
 * caller who is not root, owned by a user namespace of its own in which it keeps its uid
 * and gid): what it listens on there no other user of the machine can reach, and it can
 * reach nothing but what lunshare's own processes put into that namespace (the relay).
 *
 * A root caller's helper with ids_count runs as an id of its own for the run, which no
 * account, group, subordinate range or other run has: a process of any other uid (nobody
 * included) then gets EPERM from ptrace and kill. Its state directory goes where the plan
 * says, or, when another user made the first component under /tmp, to a fresh one of the
 * caller's own (lsh_statedir_open_run): decided here, so that planning makes nothing. */
#include "internal.h"
#include "syscalls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <stdint.h>
#include <stdlib.h>
#include <grp.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>


/* Helpers are looked up here, never in the caller's PATH. */
static const char helper_path[] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

struct helper {
	char name[32];
	int pidfd;
	pid_t pid;
	int errfd;		/* its stderr, kept open (and unread) while it runs */
	int dirfd;		/* the run's state directory, or -1 */
	int parentfd;		/* the directory it is in */
	char dirname[64];
	char *root, *path;	/* the state directory's trusted root and path beneath it */
	int port;
	int netns;		/* it has a network namespace of its own */
	int uid;		/* the id of its own a root caller's helper runs as, or 0 */
	struct lsh_helper_info info;
	void **ctx_slot;	/* where the executor's context points at info */
};

static long now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void remove_dir(int parentfd, const char *name, int dirfd)
{
	char **names = NULL;
	if (lsh_statedir_list(dirfd, &names, NULL) >= 0) {
		for (size_t i = 0; names[i]; i++)
			unlinkat(dirfd, names[i], 0);
		lsh_statedir_list_free(names);
	}
	close(dirfd);
	unlinkat(parentfd, name, AT_REMOVEDIR);
	close(parentfd);
}

/* This process's start time (field 22 of /proc/self/stat, in clock ticks since boot): with
 * the pid, what tells this run from a later process given the same pid. */
static unsigned long long proc_start_time(void)
{
	char buf[1024];
	unsigned long long t = 0;
	int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	char *p = strrchr(buf, ')'); /* comm may hold spaces and parentheses */
	for (int field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	if (p)
		t = strtoull(p + 1, NULL, 10);
	return t;
}

static void undo_helper(void *arg)
{
	struct helper *h = arg;
	if (h->ctx_slot && *h->ctx_slot == &h->info)
		*h->ctx_slot = NULL;
	lsh_proc_end(h->pidfd, 1000); /* a helper: up to a second to go */
	if (h->errfd >= 0)
		close(h->errfd);
	if (h->dirfd >= 0)
		remove_dir(h->parentfd, h->dirname, h->dirfd);
	/* The directories above, once empty, go too (also when the run failed before its own
	 * directory was made): a run leaves nothing behind. */
	if (h->root && h->path) {
		struct lsh_err *e = NULL;
		lsh_statedir_prune(h->root, h->path, &e);
		lsh_err_free(e);
	}
	free(h->root);
	free(h->path);
	free(h);
}

/* A free TCP port on 127.0.0.1, as the kernel picks one. Another process could take it
 * before the helper binds it: the helper then fails to start, and the run with it. */
static int free_port(struct lsh_err **err)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;
	_cleanup_close_ int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0)
		return lsh_err_set(err, errno, "pick a loopback port");
	return ntohs(a.sin_port);
}

/* s with {pid}, {dir} and {port} replaced; a new string. */
static char *expand(const char *s, pid_t pid, const char *dir, int port)
{
	size_t cap = strlen(s) + 1, n = 0;
	char *out = malloc(cap);
	while (out && *s) {
		char buf[32];
		const char *put = NULL;
		size_t skip = 1;
		if (strncmp(s, "{pid}", 5) == 0) {
			snprintf(buf, sizeof buf, "%d", (int)pid);
			put = buf, skip = 5;
		} else if (strncmp(s, "{port}", 6) == 0) {
			snprintf(buf, sizeof buf, "%d", port);
			put = buf, skip = 6;
		} else if (strncmp(s, "{dir}", 5) == 0) {
			put = dir ? dir : "", skip = 5;
		}
		size_t add = put ? strlen(put) : 1;
		if (n + add + 1 > cap) {
			cap = (n + add + 1) * 2;
			char *grown = realloc(out, cap);
			if (grown == NULL) {
				free(out);
				return NULL;
			}
			out = grown;
		}
		memcpy(out + n, put ? put : s, add);
		n += add;
		s += skip;
	}
	if (out)
		out[n] = '\0';
	return out;
}

static void free_argv(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* The last line of a helper's complaint worth showing: not empty, not its syslog noise. */
static void last_line(int fd, char *out, size_t size)
{
	char buf[4096];
	size_t n = 0;
	ssize_t r;
	out[0] = '\0';
	fcntl(fd, F_SETFL, O_NONBLOCK);
	while (n < sizeof buf - 1 && (r = read(fd, buf + n, sizeof buf - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		if (*line == '\0' || strstr(line, "syslog") != NULL)
			continue;
		snprintf(out, size, "%s", line);
	}
	for (char *p = out; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = ' ';
}

/* The first range of /proc/PID/{uid,gid}_map whose host id is not 0 (else the first
 * range): its first id inside and the host id it maps to. Returns 0, or -1. */
static int map_first(pid_t pid, const char *map, long *inside, long *host)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, map);
	FILE *f = fopen(path, "re");
	long in, out, count;
	int found = 0;
	while (f && fscanf(f, "%ld %ld %ld", &in, &out, &count) == 3) {
		if (found == 0 || (found == 1 && out != 0))
			*inside = in, *host = out;
		found = out != 0 ? 2 : 1;
		if (found == 2)
			break;
	}
	if (f)
		fclose(f);
	return found ? 0 : -1;
}

/* For a root caller's helper that joins the sandbox's user namespace (join_user): in a
 * mount namespace of its own, a /dev/net/tun that the sandbox's id may open (the host's may
 * be root's alone), the sandbox's network namespace on an fd, then its user namespace, as
 * the sandbox's own unprivileged id there: capabilities over the sandbox's namespaces, none
 * over the host's; the readiness pipe its own (pasta opens it again, as /dev/fd/3). Returns
 * the netns fd, or -1 (and says why on fd 2). */
static int join_user(pid_t pid, int readyfd, int errfd)
{
	char path[64];
	long uid = -1, gid = -1, host_uid = -1, host_gid = -1;
	struct stat st;
	if (map_first(pid, "uid_map", &uid, &host_uid) < 0 || map_first(pid, "gid_map", &gid, &host_gid) < 0) {
		dprintf(errfd, "the sandbox maps no id to run as\n");
		return -1;
	}
	snprintf(path, sizeof path, "/proc/%d/ns/net", (int)pid);
	int netfd = open(path, O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof path, "/proc/%d/ns/user", (int)pid);
	int userfd = open(path, O_RDONLY | O_CLOEXEC);
	if (netfd < 0 || userfd < 0 || (readyfd >= 0 && fchown(readyfd, (uid_t)host_uid, (gid_t)host_gid) < 0) ||
	    unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0 ||
	    (stat("/dev/net/tun", &st) == 0 && S_ISCHR(st.st_mode) &&
	     (mount("tmpfs", "/dev/net", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755") < 0 ||
	      mknod("/dev/net/tun", S_IFCHR | 0600, st.st_rdev) < 0 ||
	      chown("/dev/net/tun", (uid_t)host_uid, (gid_t)host_gid) < 0))) {
		dprintf(errfd, "cannot prepare the sandbox's namespaces: %s\n", strerror(errno));
		return -1;
	}
	if (setns(userfd, CLONE_NEWUSER) < 0 || setresgid((gid_t)gid, (gid_t)gid, (gid_t)gid) < 0 ||
	    setresuid((uid_t)uid, (uid_t)uid, (uid_t)uid) < 0) {
		dprintf(errfd, "cannot become the sandbox's id %ld:%ld: %s\n", uid, gid, strerror(errno));
		return -1;
	}
	close(userfd);
	return netfd;
}

/* In the forked child: a network namespace of its own with loopback up. Root makes it in
 * the user namespace it is in (and drops to another uid afterwards); anyone else makes a
 * user namespace with it, mapping only their own uid and gid to themselves. */
static int own_netns(void)
{
	uid_t uid = geteuid();
	gid_t gid = getegid();
	struct lsh_err *e = NULL;
	struct lsh_nl *nl;
	struct lsh_nl_link_change up = { .what = LSH_NL_SET_UP };
	int r;
	if (uid == 0) {
		r = lsh_ns_unshare(CLONE_NEWNET, &e);
	} else {
		struct lsh_idmap_range u = { uid, uid, 1 }, g = { gid, gid, 1 };
		r = lsh_ns_unshare(CLONE_NEWUSER | CLONE_NEWNET, &e);
		if (r == 0)
			r = lsh_idmap_write(getpid(), LSH_IDMAP_UID, &u, 1, &e);
		if (r == 0)
			r = lsh_idmap_setgroups(getpid(), 0, &e);
		if (r == 0)
			r = lsh_idmap_write(getpid(), LSH_IDMAP_GID, &g, 1, &e);
	}
	if (r == 0)
		r = lsh_nl_open(&nl, (struct lsh_nl_ns){ LSH_NL_NS_HERE, 0 }, &e);
	if (r == 0) {
		r = lsh_nl_link_set(nl, "lo", &up, &e);
		lsh_nl_close(nl);
	}
	if (r < 0)
		dprintf(2, "own network namespace: %s\n", e ? e->msg : strerror(-r));
	lsh_err_free(e);
	return r;
}

/* In the forked child: becomes the helper, or exits 127. With syncfd (a network namespace
 * of its own), it says on syncfd that its namespaces are made (the supervisor then looks
 * at them) before it goes on; with join, it enters the sandbox's user namespace first. */
static __attribute__((noreturn)) void exec_helper(char **argv, int readyfd, int errfd, const sigset_t *mask,
						  pid_t supervisor, int dirfd, int uid, pid_t join, int syncfd)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC), netfd = -1;
	if (syncfd >= 0 && (dup2(errfd, 2) < 0 || own_netns() < 0 || write(syncfd, "n", 1) != 1))
		_exit(127);
	/* A root caller's helper runs as uid, dropped here, before PDEATHSIG: a change of
	 * credentials clears it (a helper that dropped by itself outlived a killed run). */
	if (null < 0 || (uid > 0 && geteuid() == 0 &&
			 (setgroups(0, NULL) < 0 || setresgid((gid_t)uid, (gid_t)uid, (gid_t)uid) < 0 ||
			  setresuid((uid_t)uid, (uid_t)uid, (uid_t)uid) < 0)))
		_exit(127);
	if (join > 0 && geteuid() == 0 && (setgroups(0, NULL) < 0 || (netfd = join_user(join, readyfd, errfd)) < 0))
		_exit(127);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != supervisor)
		_exit(127);
	/* In its state directory: a helper that drops to another user after it started (its
	 * files owned by that user) reaches them by relative names, the directories above it
	 * staying the caller's alone. */
	if (dirfd >= 0 && fchdir(dirfd) < 0)
		_exit(127);
	setsid();
	/* fd 3 is the readiness pipe (a helper writes its pid file there) */
	if (dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(errfd, 2) < 0 ||
	    (readyfd >= 0 && dup2(readyfd, 3) < 0) || (netfd >= 0 && dup2(netfd, 4) < 0))
		_exit(127);
	sys_close_range(netfd >= 0 ? 5 : readyfd >= 0 ? 4 : 3, ~0U, 0);
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	sigprocmask(SIG_SETMASK, mask, NULL);
	/* An environment of its own: the caller's (a root caller's tokens, keys, paths) would be
	 * readable in /proc/PID/environ by every process of the helper's uid (nobody, for a root
	 * caller's tinyproxy); the helpers need nothing of it. */
	static char path_var[] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	char *env[] = { path_var, NULL };
	char path[4096];
	const char *p = helper_path;
	if (strchr(argv[0], '/'))
		execve(argv[0], argv, env);
	while (*p) {
		size_t len = strcspn(p, ":");
		snprintf(path, sizeof path, "%.*s/%s", (int)len, p, argv[0]);
		execve(path, argv, env);
		p += len + (p[len] == ':');
	}
	dprintf(2, "%s: not found in %s\n", argv[0], helper_path);
	_exit(127);
}

/* Whether 127.0.0.1:port accepts a connection. */
static int accepts(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

/* A process in the helper's network namespace that writes a line on the pipe it returns
 * once 127.0.0.1:port accepts there (the supervisor never changes namespaces). */
static pid_t watch_port(pid_t helper, int port, int *readfd)
{
	int p[2];
	pid_t supervisor = getpid();
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != supervisor ||
		    lsh_ns_join_net(helper) < 0)
			_exit(1);
		while (!accepts(port))
			usleep(10000);
		_exit(write(p[1], "ok\n", 3) == 3 ? 0 : 1);
	}
	close(p[1]);
	if (pid < 0)
		close(p[0]);
	else
		*readfd = p[0];
	return pid;
}

/* Waits until the helper is ready: "pidfile" when it has written its pid file (a pipe on
 * its fd 3) and closed it; "port" when its loopback port accepts connections (for a
 * helper with its own network namespace, a watch_port process says so on readfd). */
static int wait_ready(struct helper *h, const char *ready, int readfd, long timeout_ms, struct lsh_err **err)
{
	long deadline = now_ms() + timeout_ms;
	int got = 0;
	for (;;) {
		if (strcmp(ready, "port") == 0 && !h->netns && accepts(h->port))
			return 0;
		struct pollfd p[2] = { { h->pidfd, POLLIN, 0 }, { readfd, POLLIN, 0 } };
		long left = deadline - now_ms();
		if (left <= 0)
			return lsh_err_msg(err, ETIMEDOUT, "%s did not start within %ld ms", h->name, timeout_ms);
		int polling = strcmp(ready, "port") == 0 && !h->netns;
		int n = poll(p, readfd >= 0 ? 2 : 1, polling ? (left < 20 ? (int)left : 20) : (int)left);
		if (n < 0 && errno != EINTR)
			return lsh_err_set(err, errno, "%s: poll", h->name);
		if (n > 0 && (p[0].revents & POLLIN)) {
			char why[512];
			last_line(h->errfd, why, sizeof why);
			return lsh_err_msg(err, EIO, "%s did not start: %s", h->name, *why ? why : "it exited");
		}
		if (readfd >= 0 && n > 0 && p[1].revents) {
			/* pasta writes "PID\n" and keeps the file open: a whole line is enough. */
			char buf[64];
			ssize_t r = read(readfd, buf, sizeof buf);
			if (r > 0 && memchr(buf, '\n', (size_t)r))
				return 0;
			if (r > 0)
				got = 1;
			else if (r == 0 && got)
				return 0;
			else if (r == 0)
				readfd = -1; /* closed unwritten: wait for its exit status */
		}
	}
}

/* helper */
enum { HELPER_NAME, HELPER_READY, HELPER_STATE_ROOT, HELPER_STATE_PATH };	/* strs */
enum { HELPER_TIMEOUT, HELPER_FILES_UID, HELPER_JOIN_USER, HELPER_NETNS, HELPER_IDS_FROM, HELPER_IDS_COUNT }; /* ints */
enum { HELPER_ARGV, HELPER_FILES };						/* lists */

/* Whether an entry of the helpers' directory is a run's state directory left behind: a
 * "NAME-" directory whose lock nobody holds (its run holds it until it ends, and a killed
 * run's lock goes with its last fd) and that is whole (its owner file written) or older
 * than a minute (a run killed between mkdir and lock). Returns its fd, locked, or -1. */
static int stale_dir(int parentfd, const char *entry, const char *prefix)
{
	struct lsh_err *e = NULL;
	struct stat st;
	if (strncmp(entry, prefix, strlen(prefix)) != 0)
		return -1;
	int fd = lsh_private_dir_at(parentfd, entry, 0, "state directory", entry, &e);
	lsh_err_free(e);
	e = NULL;
	if (fd < 0)
		return -1;
	if (lsh_statedir_lock(fd, &e) != 1 || fstat(fd, &st) < 0 ||
	    (faccessat(fd, "owner", F_OK, AT_SYMLINK_NOFOLLOW) < 0 && time(NULL) - st.st_ctime < 60)) {
		lsh_err_free(e);
		close(fd);
		return -1;
	}
	return fd;
}

/* Removes the state directories of runs of this helper that were killed (SIGKILL leaves
 * no exit path to remove them): a run sweeps its predecessors'. */
static void sweep_stale(int parentfd, const char *name)
{
	char prefix[40], **names = NULL;
	snprintf(prefix, sizeof prefix, "%s-", name);
	if (lsh_statedir_list(parentfd, &names, NULL) < 0)
		return;
	for (size_t i = 0; names[i]; i++) {
		int fd = stale_dir(parentfd, names[i], prefix);
		if (fd >= 0)
			remove_dir(dup(parentfd), names[i], fd);
	}
	lsh_statedir_list_free(names);
}

/* A run whose predictable base was refused (another user's /tmp/lunshare-UID) got a fresh
 * FIRST-RANDOM of its own (lsh_statedir_open_run), which no later run finds by name: it
 * sweeps what killed runs left in the caller's other FIRST-RANDOM directories, and removes
 * those that are then empty and older than a minute (a younger one may be another run's,
 * between its mkdir and its lock). Each is verified as the caller's and private first. */
static void sweep_fallbacks(const char *root, const char *planned, const char *used, const char *name)
{
	size_t len = strcspn(planned, "/");
	char prefix[300], path[1024], **names = NULL;
	struct lsh_err *e = NULL;
	snprintf(prefix, sizeof prefix, "%.*s-", (int)len, planned);
	int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return;
	if (lsh_statedir_list(rootfd, &names, NULL) < 0) {
		close(rootfd);
		return;
	}
	for (size_t i = 0; names[i]; i++) {
		struct stat st;
		const char *n = names[i];
		if (strncmp(n, prefix, strlen(prefix)) != 0 || strlen(n) != strlen(prefix) + 16 ||
		    strspn(n + strlen(prefix), "0123456789abcdef") != 16 || strncmp(n, used, strlen(n)) == 0)
			continue;
		snprintf(path, sizeof path, "%s%s", n, planned + len);
		int fd = lsh_statedir_open(root, path, 0, &e);
		lsh_err_free(e);
		e = NULL;
		if (fd < 0)
			continue;
		sweep_stale(fd, name);
		close(fd);
		if (fstatat(rootfd, n, &st, AT_SYMLINK_NOFOLLOW) == 0 && time(NULL) - st.st_mtime >= 60) {
			lsh_statedir_prune(root, path, &e);
			lsh_err_free(e);
			e = NULL;
		}
	}
	lsh_statedir_list_free(names);
	close(rootfd);
}

/* Whether id is anyone's as a uid or a gid: an account or group (through NSS), or inside a
 * subordinate range of /etc/subuid or /etc/subgid (a user's containers run as those). */
static int id_taken(unsigned id)
{
	char buf[4096];
	struct passwd pw, *pwp = NULL;
	struct group gr, *grp = NULL;
	if (getpwuid_r((uid_t)id, &pw, buf, sizeof buf, &pwp) != 0 || pwp != NULL ||
	    getgrgid_r((gid_t)id, &gr, buf, sizeof buf, &grp) != 0 || grp != NULL)
		return 1;
	static const char *const subid[] = { "/etc/subuid", "/etc/subgid" };
	for (size_t i = 0; i < LSH_ARRAY_SIZE(subid); i++) {
		FILE *f = fopen(subid[i], "re");
		while (f && fgets(buf, sizeof buf, f)) {
			unsigned long start, count;
			char *colon = strchr(buf, ':');
			if (colon && sscanf(colon + 1, "%lu:%lu", &start, &count) == 2 && id >= start && id - start < count) {
				fclose(f);
				return 1;
			}
		}
		if (f)
			fclose(f);
	}
	return 0;
}

/* The run's state directory: "NAME-" and 16 random hex digits (never a name a killed run
 * left, nor another run's), made new and locked for as long as the run holds it, with an
 * "owner" file ("PID STARTTIME", for a person who finds it). A root caller's helper with
 * ids_count gets an id of its own instead, drawn at random from the plan's range and used by
 * no account, group or subordinate range: its directory is then "NAME-ID", whose exclusive
 * creation in root's one helpers' directory reserves the id among root's runs. */
static int make_state_dir(struct helper *h, const struct lsh_plan_step *s, char *path, size_t size,
			  struct lsh_err **err)
{
	const char *root = s->strs[HELPER_STATE_ROOT];
	char sub[1024];
	h->parentfd = lsh_statedir_open_run(root, s->strs[HELPER_STATE_PATH], sub, sizeof sub, err);
	if (h->parentfd < 0)
		return h->parentfd;
	/* Known from here, so that a failure below still removes what open_run made. */
	h->root = strdup(root);
	h->path = strdup(sub);
	if (h->root == NULL || h->path == NULL) {
		close(h->parentfd);
		return lsh_err_set(err, ENOMEM, "%s", h->name);
	}
	sweep_stale(h->parentfd, h->name);
	if (strcmp(sub, s->strs[HELPER_STATE_PATH]) != 0)
		sweep_fallbacks(root, s->strs[HELPER_STATE_PATH], sub, h->name);
	for (int tries = 0;; tries++) {
		uint64_t rnd;
		if (getrandom(&rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
			close(h->parentfd);
			return lsh_err_set(err, errno ? errno : EIO, "random state directory name");
		}
		long from = (long)s->ints[HELPER_IDS_FROM], count = (long)s->ints[HELPER_IDS_COUNT];
		if (count > 0 && geteuid() == 0) {
			if (from < 1 || from + count > 0x7fffffffL) {
				close(h->parentfd);
				return lsh_err_msg(err, EINVAL, "ids %ld+%ld: expected ids from 1 to 2^31 - 1", from, count);
			}
			h->uid = (int)(from + (long)(rnd % (uint64_t)count));
			if (id_taken((unsigned)h->uid)) {
				if (tries < 63)
					continue;
				close(h->parentfd);
				return lsh_err_msg(err, EBUSY, "no free id in %ld+%ld", from, count);
			}
			snprintf(h->dirname, sizeof h->dirname, "%s-%d", h->name, h->uid);
		} else {
			snprintf(h->dirname, sizeof h->dirname, "%s-%016llx", h->name, (unsigned long long)rnd);
		}
		h->dirfd = lsh_private_dir_at(h->parentfd, h->dirname, LSH_STATEDIR_CREATE | LSH_STATEDIR_EXCL,
					      "state directory", h->dirname, tries < 63 ? NULL : err);
		if (h->dirfd >= 0 || tries >= 63 || h->dirfd != -EEXIST)
			break;
	}
	if (h->dirfd < 0) {
		int r = h->dirfd;
		if (!*err)
			lsh_err_set(err, -r, "create state directory %s", h->dirname);
		close(h->parentfd);
		return r;
	}
	char owner[64];
	if (lsh_statedir_lock(h->dirfd, err) < 0)
		return -EIO;
	snprintf(owner, sizeof owner, "%d %llu\n", (int)getpid(), proc_start_time());
	int r = lsh_statedir_write(h->dirfd, "owner", owner, strlen(owner), LSH_STATE_CREATE, err);
	if (r < 0)
		return r;
	snprintf(path, size, "%s/%s/%s", root, sub, h->dirname);
	return 0;
}

static int op_helper(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	char dir[4096] = "";
	int r = lsh_spawn_need(ctx, CLONE_NEWNET, 1, "helper", err);
	if (r < 0)
		return r;
	struct helper *h = calloc(1, sizeof *h);
	if (h == NULL)
		return lsh_err_set(err, ENOMEM, "helper");
	snprintf(h->name, sizeof h->name, "%s", s->strs[HELPER_NAME]);
	h->pidfd = h->errfd = h->dirfd = h->parentfd = -1;
	if ((r = lsh_spawn_defer(ctx, undo_helper, h, err)) < 0)
		return r;
	if ((h->port = free_port(err)) < 0)
		return h->port;
	if (s->strs[HELPER_STATE_ROOT] && (r = make_state_dir(h, s, dir, sizeof dir, err)) < 0)
		return lsh_err_wrap(err, "%s", h->name);
	char **files = s->lists[HELPER_FILES];
	for (size_t i = 0; files && files[i] && files[i + 1]; i += 2) {
		if (h->dirfd < 0)
			return lsh_err_msg(err, EINVAL, "%s: files need a state directory", h->name);
		_cleanup_free_ char *text = expand(files[i + 1], ctx->pid, dir, h->port);
		if (text == NULL)
			return lsh_err_set(err, ENOMEM, "%s", h->name);
		if ((r = lsh_statedir_write(h->dirfd, files[i], text, strlen(text), LSH_STATE_CREATE, err)) < 0)
			return lsh_err_wrap(err, "%s", h->name);
		/* For a root caller, a helper that runs as its own id (or files_uid) owns its files;
		 * the directory lets it in (0711), and only the run's owner can reach it by path. */
		int uid = h->uid > 0 ? h->uid : (int)s->ints[HELPER_FILES_UID];
		if (uid > 0 && geteuid() == 0 &&
		    (fchownat(h->dirfd, files[i], (uid_t)uid, (gid_t)uid, AT_SYMLINK_NOFOLLOW) < 0 ||
		     fchmod(h->dirfd, 0711) < 0))
			return lsh_err_set(err, errno, "%s: give %s to uid %d", h->name, files[i], uid);
	}
	size_t n = s->nlists[HELPER_ARGV];
	char **argv = calloc(n + 1, sizeof *argv);
	for (size_t i = 0; argv && i < n; i++)
		if ((argv[i] = expand(s->lists[HELPER_ARGV][i], ctx->pid, dir, h->port)) == NULL) {
			free_argv(argv);
			argv = NULL;
		}
	if (argv == NULL)
		return lsh_err_set(err, ENOMEM, "%s", h->name);
	const char *ready = s->strs[HELPER_READY] ? s->strs[HELPER_READY] : "pidfile";
	int want_pipe = strcmp(ready, "pidfile") == 0;
	int rp[2] = { -1, -1 }, ep[2] = { -1, -1 }, np[2] = { -1, -1 };
	pid_t watcher = -1;
	h->netns = (int)s->ints[HELPER_NETNS];
	if ((want_pipe && pipe2(rp, O_CLOEXEC) < 0) || pipe2(ep, O_CLOEXEC) < 0 ||
	    (h->netns && pipe2(np, O_CLOEXEC) < 0)) {
		r = lsh_err_set(err, errno, "%s: pipe", h->name);
		goto out;
	}
	pid_t supervisor = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		r = lsh_err_set(err, errno, "%s: fork", h->name);
		goto out;
	}
	if (pid == 0)
		exec_helper(argv, rp[1], ep[1], &ctx->oldmask, supervisor, h->dirfd,
			    h->uid > 0 ? h->uid : (int)s->ints[HELPER_FILES_UID],
			    s->ints[HELPER_JOIN_USER] ? ctx->pid : 0, np[1]);
	h->pid = pid;
	h->errfd = take_fd(&ep[0]);
	close(take_fd(&ep[1]));
	if (rp[1] >= 0)
		close(take_fd(&rp[1]));
	if (np[1] >= 0)
		close(take_fd(&np[1]));
	if ((h->pidfd = lsh_proc_pidfd(pid, err)) < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		r = h->pidfd;
		goto out;
	}
	if (h->netns) {
		/* Its namespaces exist once it says so; it exits instead when it cannot make them. */
		char c;
		ssize_t got;
		while ((got = read(np[0], &c, 1)) < 0 && errno == EINTR)
			;
		if (got != 1) {
			char why[512];
			last_line(h->errfd, why, sizeof why);
			r = lsh_err_msg(err, EIO, "%s did not start: %s", h->name, *why ? why : "it exited");
			goto out;
		}
		if (want_pipe) {
			r = lsh_err_msg(err, EINVAL, "%s: netns goes with ready = \"port\"", h->name);
			goto out;
		}
		if ((watcher = watch_port(pid, h->port, &rp[0])) < 0) {
			r = lsh_err_set(err, errno, "%s: fork", h->name);
			goto out;
		}
	}
	r = wait_ready(h, ready, rp[0], s->ints[HELPER_TIMEOUT] > 0 ? (long)s->ints[HELPER_TIMEOUT] : 10000, err);
	if (r == 0) {
		h->info.port = h->port;
		h->info.dirfd = h->dirfd;
		h->info.pid = h->pid;
		h->info.netns = h->netns;
		h->info.uid = h->uid;
		h->ctx_slot = &ctx->area[LSH_AREA_HELPER];
		*h->ctx_slot = &h->info;
	}
out:
	if (watcher > 0) {
		kill(watcher, SIGKILL);
		waitpid(watcher, NULL, 0);
	}
	if (np[0] >= 0)
		close(np[0]);
	free_argv(argv);
	if (rp[0] >= 0)
		close(rp[0]);
	if (rp[1] >= 0)
		close(rp[1]);
	if (ep[0] >= 0)
		close(ep[0]);
	if (ep[1] >= 0)
		close(ep[1]);
	return r;
}

const struct lsh_op lsh_ops_helper[] = {
	{ "helper", LSH_PHASE_HOST,
	  { { "name", LSH_ARG_STR, HELPER_NAME, 1 }, { "ready", LSH_ARG_STR, HELPER_READY, 0 },
	    { "state_root", LSH_ARG_STR, HELPER_STATE_ROOT, 0 }, { "state_path", LSH_ARG_STR, HELPER_STATE_PATH, 0 },
	    { "timeout", LSH_ARG_INT, HELPER_TIMEOUT, 0 }, { "files_uid", LSH_ARG_INT, HELPER_FILES_UID, 0 },
	    { "join_user", LSH_ARG_BOOL, HELPER_JOIN_USER, 0 }, { "netns", LSH_ARG_BOOL, HELPER_NETNS, 0 },
	    { "ids_from", LSH_ARG_INT, HELPER_IDS_FROM, 0 }, { "ids_count", LSH_ARG_INT, HELPER_IDS_COUNT, 0 },
	    { "argv", LSH_ARG_LIST, HELPER_ARGV, 1 }, { "files", LSH_ARG_LIST, HELPER_FILES, 0 } },
	  NULL, op_helper },
	{ NULL, 0, { { NULL, 0, 0, 0 } }, NULL, NULL },
};
