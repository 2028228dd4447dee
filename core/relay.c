/* The relay of an egress allowlist: a listening socket on the sandbox's loopback whose
 * connections the supervisor's relay process carries, byte for byte, to the filtering
 * proxy on the host's loopback (the helper started just before). The relay parses nothing
 * that comes from the sandbox: it copies bytes, and reads the proxy's own log for the
 * requests the proxy refused, to report each (one line on stderr, and a JSON line in the
 * egress log when one is asked for).
 *
 * The socket is made by a short-lived process that joins the sandbox's user namespace (the
 * supervisor made it, and so has every capability in it) and network namespace: the
 * supervisor itself never changes namespaces. */
#include "internal.h"
#include "syscalls.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

enum { MAX_CONNS = 64, BUF = 16384, LINE = 4096 };

/* ---- the listening socket inside -------------------------------------------------- */

static int send_fd(int sock, int fd, int code)
{
	char data[sizeof(int)];
	memcpy(data, &code, sizeof code);
	struct iovec iov = { data, sizeof data };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (fd >= 0) {
		m.msg_control = u.buf;
		m.msg_controllen = sizeof u.buf;
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof fd);
	}
	return sendmsg(sock, &m, MSG_NOSIGNAL) < 0 ? -1 : 0;
}

/* In the forked process: joins the sandbox's namespaces, listens on 127.0.0.1:port. */
static __attribute__((noreturn)) void listen_child(int sock, pid_t pid, int userns, int port)
{
	static const char *const kinds[] = { "user", "net" };
	struct lsh_nl *nl;
	struct lsh_nl_link_change up = { .what = LSH_NL_SET_UP };
	for (size_t i = userns ? 0 : 1; i < LSH_ARRAY_SIZE(kinds); i++) {
		char path[64];
		snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)pid, kinds[i]);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, i == 0 ? CLONE_NEWUSER : CLONE_NEWNET) < 0) {
			send_fd(sock, -1, errno);
			_exit(1);
		}
		close(fd);
	}
	/* The loopback address exists once lo is up (the sandbox brings it up again). */
	if (lsh_nl_open(&nl, (struct lsh_nl_ns){ LSH_NL_NS_HERE, 0 }, NULL) == 0) {
		lsh_nl_link_set(nl, "lo", &up, NULL);
		lsh_nl_close(nl);
	}
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, MAX_CONNS) < 0) {
		send_fd(sock, -1, errno);
		_exit(1);
	}
	send_fd(sock, fd, 0);
	_exit(0);
}

static int listen_inside(const struct lsh_spawn_ctx *ctx, int port, struct lsh_err **err)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return lsh_err_set(err, errno, "relay: socketpair");
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(sv[0]);
		close(sv[1]);
		return lsh_err_set(err, e, "relay: fork");
	}
	if (pid == 0) {
		close(sv[0]);
		listen_child(sv[1], ctx->pid, (ctx->clone_flags & CLONE_NEWUSER) != 0, port);
	}
	close(sv[1]);
	int code = EIO, fd = -1;
	char data[sizeof(int)];
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { data, sizeof data };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
	ssize_t n;
	while ((n = recvmsg(sv[0], &m, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
		;
	if (n == (ssize_t)sizeof data) {
		memcpy(&code, data, sizeof code);
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		if (c && c->cmsg_type == SCM_RIGHTS)
			memcpy(&fd, CMSG_DATA(c), sizeof fd);
	}
	close(sv[0]);
	waitpid(pid, NULL, 0);
	if (fd < 0)
		return lsh_err_set(err, code ? code : EIO, "relay: listen on the sandbox's 127.0.0.1:%d", port);
	return fd;
}

/* ---- the denials the proxy logs --------------------------------------------------- */

struct watch {
	int dirfd;	/* the proxy's state directory (borrowed) */
	int logfd;	/* its log, once it exists */
	int outfd;	/* the egress log (JSON lines), or -1 */
	char line[LINE];
	size_t n;
	int skipping;	/* inside a line too long to keep */
};

/* What a denied URL asks for, parsed as tinyproxy's filter saw it: "host:443" (CONNECT),
 * "http://[user@]host[:port]/…" or another scheme's "SCHEME://[user@]host[:port]/…". host
 * is bounded and printable (anything else becomes '?'), port 0 when it says none that is
 * valid and its scheme has no default; shown is "host:port", or "SCHEME://host:port" for a
 * scheme other than http. */
struct target {
	char scheme[16];
	char host[256];
	int port;
	char shown[300];
};

static int scheme_port(const char *scheme)
{
	static const struct { const char *name; int port; } known[] = {
		{ "", 443 }, { "http", 80 }, { "https", 443 }, { "ftp", 21 },
	};
	for (size_t i = 0; i < LSH_ARRAY_SIZE(known); i++)
		if (strcmp(scheme, known[i].name) == 0)
			return known[i].port;
	return 0;
}

static void parse_target(const char *url, struct target *t)
{
	const char *p = url;
	size_t sl = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-");
	memset(t, 0, sizeof *t);
	if (sl > 0 && sl < sizeof t->scheme && strncmp(p + sl, "://", 3) == 0) {
		for (size_t i = 0; i < sl; i++)
			t->scheme[i] = (char)((p[i] >= 'A' && p[i] <= 'Z') ? p[i] - 'A' + 'a' : p[i]);
		p += sl + 3;
	}
	size_t alen = strcspn(p, "/?#");
	/* userinfo: whatever is before the authority's last '@' is not the host */
	for (size_t i = alen; i > 0; i--)
		if (p[i - 1] == '@') {
			p += i;
			alen -= i;
			break;
		}
	size_t hlen;
	if (alen > 0 && p[0] == '[') {
		const char *close = memchr(p, ']', alen);
		hlen = close ? (size_t)(close - p) + 1 : alen;
	} else {
		const char *colon = memchr(p, ':', alen);
		hlen = colon ? (size_t)(colon - p) : alen;
	}
	size_t o = 0;
	for (size_t i = 0; i < hlen && o + 1 < sizeof t->host; i++) {
		unsigned char ch = (unsigned char)p[i];
		int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
			 ch == '.' || ch == '-' || ch == '_' || ch == ':' || ch == '[' || ch == ']';
		t->host[o++] = ok ? (char)ch : '?';
	}
	t->host[o] = '\0';
	t->port = scheme_port(t->scheme);
	if (hlen < alen && p[hlen] == ':') {
		const char *q = p + hlen + 1;
		size_t dl = strspn(q, "0123456789");
		long v = dl > 0 && dl <= 5 && dl == alen - hlen - 1 ? strtol(q, NULL, 10) : 0;
		t->port = v >= 1 && v <= 65535 ? (int)v : 0;
	}
	if (t->scheme[0] && strcmp(t->scheme, "http") != 0)
		snprintf(t->shown, sizeof t->shown, "%s://%s:%d", t->scheme, t->host, t->port);
	else
		snprintf(t->shown, sizeof t->shown, "%s:%d", t->host, t->port);
}

static void report(struct watch *w, const char *line)
{
	static const char mark[] = "Proxying refused on filtered url \"";
	const char *p = strstr(line, mark);
	if (p == NULL)
		return;
	p += sizeof mark - 1;
	const char *end = strrchr(p, '"');
	char url[LINE];
	struct target t;
	size_t len = end && end > p ? (size_t)(end - p) : strlen(p);
	snprintf(url, sizeof url, "%.*s", (int)len, p);
	parse_target(url, &t);
	dprintf(2, "lunshare: egress denied: %s (not in network.egress)\n", t.shown);
	if (w->outfd >= 0) {
		char json[768];
		int n = snprintf(json, sizeof json,
				 "{\"time\":%lld,\"host\":\"%s\",\"port\":%d,\"denied\":\"%s\",\"reason\":\"not in network.egress\"}\n",
				 (long long)time(NULL), t.host, t.port, t.shown);
		if (n > 0 && write(w->outfd, json, (size_t)n) < 0) {
			/* A full disk loses a log line, never the run. */
		}
	}
}

static void drain(struct watch *w)
{
	char buf[LINE];
	ssize_t r;
	if (w->logfd < 0) {
		w->logfd = openat(w->dirfd, "tinyproxy.log", O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
		if (w->logfd < 0)
			return;
	}
	while ((r = read(w->logfd, buf, sizeof buf)) > 0) {
		for (ssize_t i = 0; i < r; i++) {
			if (buf[i] == '\n') {
				w->line[w->n] = '\0';
				if (!w->skipping)
					report(w, w->line);
				w->n = 0;
				w->skipping = 0;
			} else if (w->n + 1 < sizeof w->line) {
				w->line[w->n++] = buf[i];
			} else {
				w->skipping = 1;
			}
		}
	}
}

/* ---- the relay process ------------------------------------------------------------ */

struct half {
	char buf[BUF];
	size_t off, len;
	int eof;	/* the reading side ended */
	int shut;	/* the writing side was shut down */
};

struct conn {
	int fd[2];		/* 0: the sandbox's, 1: the proxy's */
	struct half h[2];	/* h[i]: bytes read from fd[i], to write to fd[1 - i] */
};

static int connect_proxy(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

static void conn_close(struct conn *c)
{
	close(c->fd[0]);
	close(c->fd[1]);
	c->fd[0] = c->fd[1] = -1;
}

/* Moves what can move; 0 while the connection lives, -1 once it is done. */
static int conn_step(struct conn *c, const short *rev)
{
	for (int i = 0; i < 2; i++) {
		struct half *h = &c->h[i];
		if ((rev[i] & (POLLIN | POLLHUP | POLLERR)) && !h->eof && h->len == 0) {
			ssize_t r = read(c->fd[i], h->buf, sizeof h->buf);
			if (r > 0) {
				h->off = 0;
				h->len = (size_t)r;
			} else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
				h->eof = 1;
			}
		}
		if (h->len > 0) {
			ssize_t r = write(c->fd[1 - i], h->buf + h->off, h->len);
			if (r > 0) {
				h->off += (size_t)r;
				h->len -= (size_t)r;
			} else if (r < 0 && errno != EAGAIN && errno != EINTR) {
				return -1;
			}
		}
		if (h->eof && h->len == 0 && !h->shut) {
			shutdown(c->fd[1 - i], SHUT_WR);
			h->shut = 1;
		}
	}
	return c->h[0].shut && c->h[1].shut ? -1 : 0;
}

static __attribute__((noreturn)) void relay_main(int lfd, int port, struct watch *w, pid_t supervisor)
{
	static struct conn conns[MAX_CONNS];
	struct pollfd p[2 + 2 * MAX_CONNS];
	sigset_t term;
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != supervisor)
		_exit(1);
	setsid();
	/* Nothing of the supervisor's but what the relay uses: 3 the listening socket, 4 the
	 * proxy's directory, 5 the egress log. */
	int keep[3] = { lfd, w->dirfd, w->outfd };
	for (int i = 0; i < 3; i++)
		if (keep[i] >= 0 && (keep[i] = fcntl(keep[i], F_DUPFD_CLOEXEC, 64)) < 0)
			_exit(1);
	for (int i = 0; i < 3; i++)
		if (keep[i] >= 0 && dup3(keep[i], 3 + i, O_CLOEXEC) < 0)
			_exit(1);
	sys_close_range(6, ~0U, 0);
	lfd = 3;
	w->dirfd = 4;
	w->outfd = w->outfd >= 0 ? 5 : -1;
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigprocmask(SIG_BLOCK, &term, NULL);
	int sfd = signalfd(-1, &term, SFD_CLOEXEC);
	signal(SIGPIPE, SIG_IGN);
	for (int i = 0; i < MAX_CONNS; i++)
		conns[i].fd[0] = conns[i].fd[1] = -1;
	for (;;) {
		int n = 0, used = 0;
		p[n++] = (struct pollfd){ sfd, POLLIN, 0 };
		for (int i = 0; i < MAX_CONNS; i++) {
			struct conn *c = &conns[i];
			if (c->fd[0] < 0)
				continue;
			used++;
			for (int k = 0; k < 2; k++) {
				short ev = 0;
				if (!c->h[k].eof && c->h[k].len == 0)
					ev |= POLLIN;
				if (c->h[1 - k].len > 0)
					ev |= POLLOUT;
				p[n++] = (struct pollfd){ c->fd[k], ev, 0 };
			}
		}
		/* A full table stops accepting: the kernel's backlog holds the rest. */
		int lpos = -1;
		if (used < MAX_CONNS) {
			lpos = n;
			p[n++] = (struct pollfd){ lfd, POLLIN, 0 };
		}
		int r = poll(p, (nfds_t)n, 200);
		drain(w);
		if (r < 0 && errno != EINTR)
			_exit(1);
		if (r <= 0)
			continue;
		if (p[0].revents & POLLIN) {
			drain(w);
			_exit(0);
		}
		int j = 1;
		for (int i = 0; i < MAX_CONNS; i++) {
			struct conn *c = &conns[i];
			if (c->fd[0] < 0)
				continue;
			short rev[2] = { p[j].revents, p[j + 1].revents };
			j += 2;
			if (conn_step(c, rev) < 0)
				conn_close(c);
		}
		if (lpos >= 0 && (p[lpos].revents & POLLIN)) {
			int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
			if (cfd < 0)
				continue;
			int pfd = connect_proxy(port);
			if (pfd < 0) {
				close(cfd); /* no proxy, no way out */
				continue;
			}
			for (int i = 0; i < MAX_CONNS; i++) {
				if (conns[i].fd[0] < 0) {
					memset(&conns[i], 0, sizeof conns[i]);
					conns[i].fd[0] = cfd;
					conns[i].fd[1] = pfd;
					break;
				}
			}
		}
	}
}

static void undo_relay(void *arg)
{
	int pidfd = (int)(intptr_t)arg;
	int status;
	sys_pidfd_send_signal(pidfd, SIGTERM, NULL, 0);
	struct pollfd p = { pidfd, POLLIN, 0 };
	if (poll(&p, 1, 2000) <= 0)
		sys_pidfd_send_signal(pidfd, SIGKILL, NULL, 0);
	lsh_proc_wait(pidfd, 0, &status, NULL);
	close(pidfd);
}

/* The egress log is named by the caller, but often in a shared directory (/tmp) where
 * another user may have put something first: a symlink to a file of the caller's (which
 * the log would append to), a FIFO (open would block the run), or a file of their own
 * (which would read the caller's log). So no symlink, no blocking open, a regular file,
 * and one the caller owns. */
static int open_log(const char *path, struct lsh_err **err)
{
	struct stat st;
	/* lstat only words the refusal; the open's flags are what refuse. */
	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
		return lsh_err_msg(err, ELOOP, "egress log %s: a symlink (name the file itself)", path);
	if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode))
		return lsh_err_msg(err, EPERM, "egress log %s: not a regular file", path);
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOCTTY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
	if (fd < 0)
		return lsh_err_set(err, errno, "egress log %s", path);
	const char *why = NULL;
	if (fstat(fd, &st) < 0)
		why = "cannot stat it";
	else if (!S_ISREG(st.st_mode))
		why = "not a regular file";
	else if (st.st_uid != geteuid())
		why = "owned by another user";
	if (why) {
		close(fd);
		return lsh_err_msg(err, EPERM, "egress log %s: %s", path, why);
	}
	return fd;
}

/* relay: port inside; the egress log to append to */
enum { RELAY_LOG };	/* strs */
enum { RELAY_PORT };	/* ints */

static int op_relay(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	struct lsh_helper_info *info = ctx->area[LSH_AREA_HELPER];
	int port = (int)s->ints[RELAY_PORT];
	int r = lsh_spawn_need(ctx, CLONE_NEWNET, 1, "relay", err);
	if (r < 0)
		return r;
	if (info == NULL || info->dirfd < 0)
		return lsh_err_msg(err, EINVAL, "relay: needs a helper step with a state directory before it");
	if (port < 1 || port > 65535)
		return lsh_err_msg(err, EINVAL, "relay: port %d: expected 1 to 65535", port);
	struct watch w = { .dirfd = info->dirfd, .logfd = -1, .outfd = -1 };
	if (s->strs[RELAY_LOG]) {
		w.outfd = open_log(s->strs[RELAY_LOG], err);
		if (w.outfd < 0)
			return w.outfd;
	}
	int lfd = listen_inside(ctx, port, err);
	if (lfd < 0) {
		if (w.outfd >= 0)
			close(w.outfd);
		return lfd;
	}
	pid_t supervisor = getpid();
	pid_t pid = fork();
	if (pid == 0)
		relay_main(lfd, info->port, &w, supervisor);
	int e = errno;
	close(lfd);
	if (w.outfd >= 0)
		close(w.outfd);
	if (pid < 0)
		return lsh_err_set(err, e, "relay: fork");
	int pidfd = lsh_proc_pidfd(pid, err);
	if (pidfd < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return pidfd;
	}
	return lsh_spawn_defer(ctx, undo_relay, (void *)(intptr_t)pidfd, err);
}

const struct lsh_op lsh_ops_relay[] = {
	{ "relay", LSH_PHASE_HOST, { { "port", LSH_ARG_INT, RELAY_PORT, 1 }, { "log", LSH_ARG_STR, RELAY_LOG, 0 } },
	  NULL, op_relay },
	{ NULL, 0, { { NULL, 0, 0, 0 } }, NULL, NULL },
};
