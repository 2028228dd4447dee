/* The relay of an egress allowlist. The filtering proxy (the helper started just before)
 * runs in a network namespace of its own, loopback only, where nobody else can reach it and
 * from where it can reach nothing itself. The relay, lunshare's own process, has a foot in
 * each namespace:
 *
 *   the sandbox's 127.0.0.1:PORT  --relay-->  the proxy's 127.0.0.1:{port}   (its filter)
 *   the proxy's 127.0.0.1:GATE    --gate--->  the host's network, as an upstream HTTP proxy
 *
 * The relay copies the sandbox's bytes to the proxy and parses none of them. The gate gets
 * only what the proxy's filter let through, as the proxy rewrote it ("CONNECT host:port" or
 * "GET http://host:port/…"), checks it against the allowlist again (a proxy taken over must
 * not be an open one), resolves the name outside and refuses (403) an address that
 * is loopback, link-local or private unless the plan allows it, then connects to the very
 * address it checked (no second lookup to rebind). The relay also reads the proxy's own log
 * for the requests the filter refused. Every refusal is reported: one line on stderr, and a
 * JSON line in the egress log when one is asked for.
 *
 * A socket belongs to the network namespace it was made in: the listening sockets are made
 * by short-lived processes that join the sandbox's or the proxy's namespaces (user first,
 * when it is not the caller's: the supervisor made it, and so has every capability in it),
 * and the sockets that connect to the proxy by a child of the relay that lives in the
 * proxy's. The supervisor itself never changes namespaces. For a root caller the relay runs
 * as the proxy's own id (helper_id: the helper step drew it for this run), else as the
 * plan's uid. */
#include "internal.h"
#include "syscalls.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <linux/openat2.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

enum { MAX_CONNS = 64, BUF = 16384, LINE = 4096, HEAD = 65536 };

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

/* Receives what send_fd sent: returns the fd, or -1 with the sender's code in *code. */
static int recv_fd(int sock, int *code)
{
	char data[sizeof(int)];
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { data, sizeof data };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
	ssize_t n;
	int fd = -1;
	*code = EIO;
	while ((n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
		;
	if (n == (ssize_t)sizeof data) {
		memcpy(code, data, sizeof *code);
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		if (c && c->cmsg_type == SCM_RIGHTS)
			memcpy(&fd, CMSG_DATA(c), sizeof fd);
	}
	return fd;
}

/* In the forked process: joins pid's network namespace, listens on 127.0.0.1:port there. */
static __attribute__((noreturn)) void listen_child(int sock, pid_t pid, int port)
{
	struct lsh_nl *nl;
	struct lsh_nl_link_change up = { .what = LSH_NL_SET_UP };
	int r = lsh_ns_join_net(pid);
	if (r < 0) {
		send_fd(sock, -1, -r);
		_exit(1);
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

/* A socket listening on 127.0.0.1:port in the network namespace of pid; what names it. */
static int listen_in(pid_t pid, int port, const char *whose, struct lsh_err **err)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return lsh_err_set(err, errno, "relay: socketpair");
	pid_t child = fork();
	if (child < 0) {
		int e = errno;
		close(sv[0]);
		close(sv[1]);
		return lsh_err_set(err, e, "relay: fork");
	}
	if (child == 0) {
		close(sv[0]);
		listen_child(sv[1], pid, port);
	}
	close(sv[1]);
	int code, fd = recv_fd(sv[0], &code);
	close(sv[0]);
	waitpid(child, NULL, 0);
	if (fd < 0)
		return lsh_err_set(err, code ? code : EIO, "relay: listen on %s 127.0.0.1:%d", whose, port);
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

/* The n bytes of a host at p, bounded and printable: anything else becomes '?'. Returns
 * whether it was clean. */
static int clean_host(const char *p, size_t n, char *out, size_t size)
{
	size_t o = 0;
	int clean = n < size;
	for (size_t i = 0; i < n && o + 1 < size; i++) {
		unsigned char ch = (unsigned char)p[i];
		int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
			 ch == '.' || ch == '-' || ch == '_' || ch == ':' || ch == '[' || ch == ']';
		out[o++] = ok ? (char)ch : '?';
		clean = clean && ok;
	}
	out[o] = '\0';
	return clean;
}

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
	clean_host(p, hlen, t->host, sizeof t->host);
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

/* The one report of a refused request: a line on stderr, and a JSON line in the egress log
 * (outfd, or -1). why is what the person reads; reason the log's field; address, when not
 * NULL, where the name led. Every string in it is clean (clean_host or our own text). */
static void refused(int outfd, const struct target *t, const char *address, const char *why, const char *reason)
{
	dprintf(2, "lunshare: egress denied: %s (%s)\n", t->shown, why);
	if (outfd >= 0) {
		char json[1024], addr[80] = "";
		if (address)
			snprintf(addr, sizeof addr, "\"address\":\"%s\",", address);
		int n = snprintf(json, sizeof json,
				 "{\"time\":%lld,\"host\":\"%s\",\"port\":%d,\"denied\":\"%s\",%s\"reason\":\"%s\"}\n",
				 (long long)time(NULL), t->host, t->port, t->shown, addr, reason);
		if (n > 0 && write(outfd, json, (size_t)n < sizeof json ? (size_t)n : sizeof json - 1) < 0) {
			/* A full disk loses a log line, never the run. */
		}
	}
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
	refused(w->outfd, &t, NULL, "not in network.egress", "not in network.egress");
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

/* A root caller's relay (and its children) give up root for uid: what parses data from the
 * sandbox holds no privilege. The change of credentials comes before PDEATHSIG, which it
 * would clear. */
static int drop_to(int uid)
{
	if (uid <= 0 || geteuid() != 0)
		return 0;
	if (setgroups(0, NULL) < 0 || setresgid((gid_t)uid, (gid_t)uid, (gid_t)uid) < 0 ||
	    setresuid((uid_t)uid, (uid_t)uid, (uid_t)uid) < 0)
		return -1;
	return 0;
}

/* Moves fds[i] (each -1 or open) to 3 + i and closes every other fd above 2. */
static int keep_fds(int *fds, int n)
{
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0 && (fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 64)) < 0)
			return -1;
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0 && dup3(fds[i], 3 + i, O_CLOEXEC) < 0)
			return -1;
	sys_close_range((unsigned)(3 + n), ~0U, 0);
	for (int i = 0; i < n; i++)
		fds[i] = fds[i] >= 0 ? 3 + i : -1;
	return 0;
}

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

/* A connection to the proxy's 127.0.0.1:port, through a socket the relay's child in the
 * proxy's network namespace made (factory is the relay's end of its socketpair). */
static int connect_proxy(int factory, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int code, fd = write(factory, "s", 1) == 1 ? recv_fd(factory, &code) : -1;
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

/* In the relay's child: joins the proxy's network namespace, then makes a socket there for
 * each byte asked on sock, until the relay ends. */
static __attribute__((noreturn)) void factory_main(int sock, pid_t proxy, pid_t relay, int uid)
{
	char c;
	if (lsh_ns_join_net(proxy) < 0 || drop_to(uid) < 0 || prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 ||
	    getppid() != relay)
		_exit(1);
	while (read(sock, &c, 1) == 1) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		send_fd(sock, fd, fd < 0 ? errno : 0);
		if (fd >= 0)
			close(fd);
	}
	_exit(0);
}

static void conn_close(struct conn *c)
{
	close(c->fd[0]);
	close(c->fd[1]);
	c->fd[0] = c->fd[1] = -1;
}

/* What to poll fd[k] of a connection for: reading while its half is empty, writing while
 * the other half holds bytes for it. */
static short conn_events(const struct conn *c, int k)
{
	short ev = 0;
	if (!c->h[k].eof && c->h[k].len == 0)
		ev |= POLLIN;
	if (c->h[1 - k].len > 0)
		ev |= POLLOUT;
	return ev;
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

/* ---- the gate: the proxy's upstream ------------------------------------------------ */

/* What the gate knows of a run: the allowlist again ("connect NAME:PORT" or "http
 * NAME:PORT", NAME maybe "*.SUFFIX"), the addresses a listed name may lead to although they
 * are private (each "NAME", "*.SUFFIX", "ADDRESS" or "ADDRESS/BITS"), both from the plan,
 * and the egress log. */
struct gate {
	char **listed;
	char **allow;
	int outfd;
};

/* Whether host is name, or, for "*.SUFFIX", one or more labels and ".SUFFIX" (as the
 * proxy's filter has it), without case. */
static int name_matches(const char *pattern, size_t plen, const char *host)
{
	size_t hl = strlen(host);
	if (plen < 2 || strncmp(pattern, "*.", 2) != 0)
		return plen == hl && strncasecmp(pattern, host, hl) == 0;
	size_t sl = plen - 1; /* ".SUFFIX" */
	if (hl <= sl || strncasecmp(host + hl - sl, pattern + 1, sl) != 0)
		return 0;
	for (size_t i = 0, label = 0; i < hl - sl; i++) {
		char c = host[i];
		if (c == '.') {
			if (label == 0)
				return 0;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-') {
			label++;
		} else {
			return 0;
		}
		if (i + 1 == hl - sl && label == 0)
			return 0;
	}
	return 1;
}

/* The gate's own check of the allowlist: what the proxy's filter let through must be in
 * it, or a proxy that misbehaved (or that someone took over) would be an open one. */
static int listed(const struct gate *g, int connect_method, const char *host, int port)
{
	const char *kind = connect_method ? "connect " : "http ";
	for (size_t i = 0; g->listed && g->listed[i]; i++) {
		const char *e = g->listed[i], *colon;
		if (strncmp(e, kind, strlen(kind)) != 0 || (colon = strrchr(e, ':')) == NULL || atoi(colon + 1) != port)
			continue;
		e += strlen(kind);
		if (name_matches(e, (size_t)(colon - e), host))
			return 1;
	}
	return 0;
}

static int private_allowed(const struct gate *g, const char *host, const struct sockaddr *sa)
{
	size_t hl = strlen(host);
	for (size_t i = 0; g->allow && g->allow[i]; i++) {
		const char *e = g->allow[i];
		size_t el = strlen(e);
		if (lsh_addr_in_net(e, sa) == 1 || strcasecmp(e, host) == 0 ||
		    (strncmp(e, "*.", 2) == 0 && hl > el - 1 && strcasecmp(host + hl - (el - 1), e + 1) == 0))
			return 1;
	}
	return 0;
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t r = write(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return;
		p += r;
		n -= (size_t)r;
	}
}

static __attribute__((noreturn)) void answer(int fd, int code, const char *status, const char *text)
{
	char buf[1536];
	int n = snprintf(buf, sizeof buf,
			 "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s\n",
			 code, status, strlen(text) + 1, text);
	write_all(fd, buf, n > 0 && (size_t)n < sizeof buf ? (size_t)n : 0);
	_exit(0);
}

/* In a child of the relay, for one connection of the proxy's: reads the head of the
 * request the filter let through, resolves its host here (outside), connects to the first
 * address that is public or allowed, and carries the bytes; or answers 403 when every
 * address the name has is private, 400 or 502 when it cannot do otherwise. */
static __attribute__((noreturn)) void gate_main(int fd, const struct gate *g)
{
	static char head[HEAD + 1];
	static struct conn c;
	size_t n = 0;
	char *end = NULL, *eol = NULL;
	struct pollfd p = { fd, POLLIN, 0 };
	while (n < HEAD && (end = strstr(head, "\r\n\r\n")) == NULL) {
		if (poll(&p, 1, 30000) <= 0)
			_exit(0);
		ssize_t r = read(fd, head + n, HEAD - n);
		if (r <= 0)
			_exit(0);
		n += (size_t)r;
		head[n] = '\0';
	}
	/* "CONNECT host:port HTTP/1.x" or "GET http://host:port/path HTTP/1.x": the proxy
	 * always writes the port. */
	if ((eol = strstr(head, "\r\n")) == NULL)
		answer(fd, 400, "Bad Request", "lunshare: egress: a request line past the gate's bound");
	int connect_method = strncmp(head, "CONNECT ", 8) == 0;
	const char *t = strchr(head, ' ');
	t = t && t < eol ? t + 1 : eol;
	if (!connect_method && strncasecmp(t, "http://", 7) == 0)
		t += 7;
	else if (!connect_method)
		answer(fd, 400, "Bad Request", "lunshare: egress: not a request the gate carries");
	size_t alen = strcspn(t, connect_method ? " \r" : "/ \r");
	const char *colon = NULL;
	for (size_t i = 0; i < alen; i++)
		if (t[i] == ':')
			colon = t + i;
	struct target tg = { .port = colon ? atoi(colon + 1) : 0 };
	int clean = colon && clean_host(t, (size_t)(colon - t), tg.host, sizeof tg.host);
	snprintf(tg.shown, sizeof tg.shown, "%s:%d", tg.host, tg.port);
	if (!clean || tg.host[0] == '\0' || tg.port < 1 || tg.port > 65535 || (connect_method && end == NULL))
		answer(fd, 400, "Bad Request", "lunshare: egress: the gate cannot read this request");
	if (!listed(g, connect_method, tg.host, tg.port)) {
		refused(g->outfd, &tg, NULL, "not in network.egress", "not in network.egress");
		answer(fd, 403, "Forbidden", "lunshare: egress denied: not in network.egress");
	}
	char port[8], addr[INET6_ADDRSTRLEN] = "", why[512];
	snprintf(port, sizeof port, "%d", tg.port);
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV }, *res, *ai;
	int rc = getaddrinfo(tg.host, port, &hints, &res);
	if (rc != 0) {
		snprintf(why, sizeof why, "lunshare: egress: %s: %s", tg.shown, gai_strerror(rc));
		answer(fd, 502, "Bad Gateway", why);
	}
	int sfd = -1, refused_private = 0, e = 0;
	for (ai = res; ai && sfd < 0; ai = ai->ai_next) {
		if (lsh_addr_private(ai->ai_addr) && !private_allowed(g, tg.host, ai->ai_addr)) {
			if (!refused_private)
				getnameinfo(ai->ai_addr, ai->ai_addrlen, addr, sizeof addr, NULL, 0, NI_NUMERICHOST);
			refused_private = 1;
			continue;
		}
		sfd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (sfd >= 0 && connect(sfd, ai->ai_addr, ai->ai_addrlen) < 0) {
			e = errno;
			close(sfd);
			sfd = -1;
		}
	}
	freeaddrinfo(res);
	if (sfd < 0 && refused_private) {
		char text[1024];
		snprintf(why, sizeof why, "%s is a private address, not in network.allow_private", addr);
		refused(g->outfd, &tg, addr, why, "private address, not in network.allow_private");
		snprintf(text, sizeof text, "lunshare: egress denied: %s (%s)", tg.shown, why);
		answer(fd, 403, "Forbidden", text);
	}
	if (sfd < 0) {
		snprintf(why, sizeof why, "lunshare: egress: connect to %s: %s", tg.shown, strerror(e ? e : EHOSTUNREACH));
		answer(fd, 502, "Bad Gateway", why);
	}
	/* CONNECT: the head is the gate's alone, and what follows it the tunnel's. Anything
	 * else goes to the server as the proxy wrote it, but for the request line's target in
	 * the origin form a server expects ("/path", not "http://host:port/path"). */
	const char *rest = connect_method ? end + 4 : t + alen;
	if (connect_method) {
		write_all(fd, "HTTP/1.1 200 Connection established\r\n\r\n", 39);
	} else {
		write_all(sfd, head, (size_t)(strchr(head, ' ') + 1 - head));
		if (*rest != '/')
			write_all(sfd, "/", 1);
	}
	write_all(sfd, rest, n - (size_t)(rest - head));
	c.fd[0] = fd;
	c.fd[1] = sfd;
	fcntl(fd, F_SETFL, O_NONBLOCK);
	fcntl(sfd, F_SETFL, O_NONBLOCK);
	for (;;) {
		struct pollfd q[2];
		for (int k = 0; k < 2; k++)
			q[k] = (struct pollfd){ c.fd[k], conn_events(&c, k), 0 };
		if (poll(q, 2, -1) < 0 && errno != EINTR)
			_exit(1);
		short rev[2] = { q[0].revents, q[1].revents };
		if (conn_step(&c, rev) < 0)
			_exit(0);
	}
}

static void gate_accept(int gfd, const struct gate *g, pid_t relay)
{
	int cfd = accept4(gfd, NULL, NULL, SOCK_CLOEXEC);
	if (cfd < 0)
		return;
	pid_t pid = fork();
	if (pid == 0) {
		int keep[2] = { cfd, g->outfd };
		struct gate mine = *g;
		if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != relay || keep_fds(keep, 2) < 0)
			_exit(1);
		mine.outfd = keep[1];
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		gate_main(keep[0], &mine);
	}
	close(cfd);
}

/* What the relay process is handed: its sockets and the proxy's directory (each moved to
 * a fixed fd), the proxy, the gate's policy, and whom to run as. */
struct relay {
	int lfd;		/* listening in the sandbox */
	int gfd;		/* the gate, listening in the proxy's namespace, or -1 */
	pid_t proxy;
	int port;		/* the proxy's, in its namespace */
	int uid;
	struct gate gate;
};

static __attribute__((noreturn)) void relay_main(struct relay *rl, struct watch *w, pid_t supervisor)
{
	static struct conn conns[MAX_CONNS];
	struct pollfd p[3 + 2 * MAX_CONNS];
	sigset_t term;
	int sv[2];
	/* Nothing of the supervisor's but what the relay uses: 3 the listening socket, 4 the
	 * proxy's directory, 5 the egress log, 6 the gate. */
	int keep[4] = { rl->lfd, w->dirfd, w->outfd, rl->gfd };
	if (keep_fds(keep, 4) < 0 || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		_exit(1);
	rl->lfd = keep[0], w->dirfd = keep[1], w->outfd = keep[2], rl->gfd = keep[3];
	rl->gate.outfd = w->outfd;
	/* The factory joins the proxy's namespaces before anyone drops root (a root caller's
	 * proxy namespace is the initial user namespace's), then drops too. */
	pid_t relay = getpid();
	pid_t factory = fork();
	if (factory < 0)
		_exit(1);
	if (factory == 0) {
		int mine[1] = { sv[1] };
		if (keep_fds(mine, 1) < 0)
			_exit(1);
		factory_main(mine[0], rl->proxy, relay, rl->uid);
	}
	close(sv[1]);
	if (drop_to(rl->uid) < 0 || prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != supervisor)
		_exit(1);
	setsid();
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigprocmask(SIG_BLOCK, &term, NULL);
	int sfd = signalfd(-1, &term, SFD_CLOEXEC);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGCHLD, SIG_IGN); /* the gate's children reap themselves */
	for (int i = 0; i < MAX_CONNS; i++)
		conns[i].fd[0] = conns[i].fd[1] = -1;
	for (;;) {
		int n = 0, used = 0;
		p[n++] = (struct pollfd){ sfd, POLLIN, 0 };
		p[n++] = (struct pollfd){ rl->gfd, POLLIN, 0 };
		for (int i = 0; i < MAX_CONNS; i++) {
			struct conn *c = &conns[i];
			if (c->fd[0] < 0)
				continue;
			used++;
			for (int k = 0; k < 2; k++)
				p[n++] = (struct pollfd){ c->fd[k], conn_events(c, k), 0 };
		}
		/* A full table stops accepting: the kernel's backlog holds the rest. */
		int lpos = -1;
		if (used < MAX_CONNS) {
			lpos = n;
			p[n++] = (struct pollfd){ rl->lfd, POLLIN, 0 };
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
		if (p[1].revents & POLLIN)
			gate_accept(rl->gfd, &rl->gate, getpid());
		int j = 2;
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
			int cfd = accept4(rl->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
			if (cfd < 0)
				continue;
			int pfd = connect_proxy(sv[0], rl->port);
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
	lsh_proc_end((int)(intptr_t)arg, 2000); /* up to two seconds to go */
}

/* The egress log is named by the caller, but often in a shared directory (/tmp) where
 * another user may have put something first: a symlink (to a file of the caller's, which
 * the log would append to, or to a directory of the caller's, where it would make one), a
 * hard link to a file of the caller's, a FIFO (open would block the run), or a file of their
 * own (which would read the caller's log). So no symlink anywhere on the path, no blocking
 * open, a regular file with one link, and one the caller owns. */
static int open_log(const char *path, struct lsh_err **err)
{
	struct stat st;
	/* lstat only words the refusal; the opens' flags are what refuse. */
	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
		return lsh_err_msg(err, ELOOP, "egress log %s: a symlink (name the file itself)", path);
	if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode))
		return lsh_err_msg(err, EPERM, "egress log %s: not a regular file", path);
	/* The directory, opened with no symlink on the way, and the name in it. */
	char dir[4096] = ".";
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	if (slash) {
		size_t len = slash == path ? 1 : (size_t)(slash - path);
		if (len >= sizeof dir)
			return lsh_err_msg(err, ENAMETOOLONG, "egress log %s: too long", path);
		memcpy(dir, path, len);
		dir[len] = '\0';
	}
	if (*base == '\0')
		return lsh_err_msg(err, EINVAL, "egress log %s: expected the path of a file", path);
	int dfd = lsh_openat2(AT_FDCWD, dir, O_PATH | O_DIRECTORY | O_CLOEXEC, RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
	if (dfd < 0)
		return lsh_err_set(err, errno, "egress log %s%s", path,
				   errno == ELOOP ? ": a symlink on the way (name the file by its real path)" : "");
	int fd = openat(dfd, base, O_WRONLY | O_CREAT | O_APPEND | O_NOCTTY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
	int saved = errno;
	close(dfd);
	if (fd < 0)
		return lsh_err_set(err, saved, "egress log %s", path);
	const char *why = NULL;
	if (fstat(fd, &st) < 0)
		why = "cannot stat it";
	else if (!S_ISREG(st.st_mode))
		why = "not a regular file";
	else if (st.st_uid != geteuid())
		why = "owned by another user";
	else if (st.st_nlink != 1)
		why = "it has other hard links";
	if (why) {
		close(fd);
		return lsh_err_msg(err, EPERM, "egress log %s: %s", path, why);
	}
	return fd;
}

/* relay: port inside; the gate's port in the proxy's namespace, the private addresses it
 * lets through, the uid a root caller's relay runs as; the egress log to append to */
enum { RELAY_LOG };				/* strs */
enum { RELAY_PORT, RELAY_GATE, RELAY_UID, RELAY_HELPER_ID };	/* ints */
enum { RELAY_ALLOW_PRIVATE, RELAY_ALLOW };	/* lists */

static int op_relay(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	struct lsh_helper_info *info = ctx->area[LSH_AREA_HELPER];
	int port = (int)s->ints[RELAY_PORT], gate = (int)s->ints[RELAY_GATE];
	int r = lsh_spawn_need(ctx, CLONE_NEWNET, 1, "relay", err);
	if (r < 0)
		return r;
	if (info == NULL || info->dirfd < 0 || !info->netns)
		return lsh_err_msg(err, EINVAL, "relay: needs a helper step with a state directory and netns before it");
	if (port < 1 || port > 65535 || gate < 1 || gate > 65535)
		return lsh_err_msg(err, EINVAL, "relay: port %d, gate %d: expected 1 to 65535", port, gate);
	struct watch w = { .dirfd = info->dirfd, .logfd = -1, .outfd = -1 };
	/* helper_id: the relay runs as the proxy's own id (a root caller's), the one id no other
	 * process of the machine has; else as uid. */
	int uid = s->ints[RELAY_HELPER_ID] && info->uid > 0 ? info->uid : (int)s->ints[RELAY_UID];
	struct relay rl = { .proxy = info->pid, .port = info->port, .uid = uid,
			    .gate = { .listed = s->lists[RELAY_ALLOW], .allow = s->lists[RELAY_ALLOW_PRIVATE], .outfd = -1 } };
	if (s->strs[RELAY_LOG]) {
		w.outfd = open_log(s->strs[RELAY_LOG], err);
		if (w.outfd < 0)
			return w.outfd;
	}
	rl.lfd = listen_in(ctx->pid, port, "the sandbox's", err);
	rl.gfd = rl.lfd < 0 ? -1 : listen_in(info->pid, gate, "the proxy's", err);
	if (rl.gfd < 0) {
		if (rl.lfd >= 0)
			close(rl.lfd);
		if (w.outfd >= 0)
			close(w.outfd);
		return rl.lfd < 0 ? rl.lfd : rl.gfd;
	}
	pid_t supervisor = getpid();
	pid_t pid = fork();
	if (pid == 0)
		relay_main(&rl, &w, supervisor);
	int e = errno;
	close(rl.lfd);
	close(rl.gfd);
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
	{ "relay", LSH_PHASE_HOST,
	  { { "port", LSH_ARG_INT, RELAY_PORT, 1 }, { "gate", LSH_ARG_INT, RELAY_GATE, 1 },
	    { "uid", LSH_ARG_INT, RELAY_UID, 0 }, { "helper_id", LSH_ARG_BOOL, RELAY_HELPER_ID, 0 },
	    { "allow_private", LSH_ARG_LIST, RELAY_ALLOW_PRIVATE, 0 },
	    { "allow", LSH_ARG_LIST, RELAY_ALLOW, 1 },
	    { "log", LSH_ARG_STR, RELAY_LOG, 0 } },
	  NULL, op_relay },
	{ NULL, 0, { { NULL, 0, 0, 0 } }, NULL, NULL },
};
