/* rtnetlink through libmnl: links, addresses, routes and their dumps, in the caller's
 * network namespace or another one.
 *
 * Every request is built in the handle's own buffer with libmnl's size-checked puts, sent
 * with NLM_F_ACK, and answered by exactly one NLMSG_ERROR (0 or -errno). The socket asks
 * for extended acks (NETLINK_EXT_ACK, Linux 4.12) so that the kernel's own sentence
 * ("Invalid prefix for given prefix length") reaches the message, after the request and
 * the link it was about. */
#include "internal.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif

enum { NL_BUF = 32768 };
/* The head of buf zeroed before each request is built: libmnl (1.0.4) leaves an
 * attribute's padding as it was, and malloc'ed memory (lsh_nl_open) would send the kernel
 * whatever the heap held there. Every request is far shorter; talk refuses a longer one. */
enum { NL_REQ_MAX = 1024 };

struct lsh_nl {
	struct mnl_socket *sk;
	uint32_t portid;
	uint32_t seq;
	char ext[256];	/* the extended-ack text of the last refusal */
	char buf[NL_BUF];
};

/* ---- opening a socket in a namespace ------------------------------------------------ */

struct open_in_ns {
	int nsfd;
	int fd;
	int error;
};

/* Runs in a thread of its own: setns(CLONE_NEWNET) changes only the calling thread's
 * namespaces, and a socket stays in the namespace it was created in for its whole life.
 * The thread ends right after, so the caller's threads never leave their namespace, even
 * for a moment, and nothing needs to find its way back. */
static void *open_thread(void *p)
{
	struct open_in_ns *a = p;
	if (setns(a->nsfd, CLONE_NEWNET) < 0) {
		a->error = errno;
		return NULL;
	}
	a->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (a->fd < 0)
		a->error = errno;
	return NULL;
}

static int socket_in(int nsfd, struct lsh_err **err)
{
	if (nsfd < 0) {
		int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
		if (fd < 0)
			return lsh_err_set(err, errno, "netlink socket");
		return fd;
	}
	struct open_in_ns a = { nsfd, -1, 0 };
	pthread_t t;
	int r = pthread_create(&t, NULL, open_thread, &a);
	if (r != 0)
		return lsh_err_set(err, r, "netlink: start a thread to enter the namespace");
	pthread_join(t, NULL);
	if (a.error == EPERM)
		return lsh_err_msg(err, EPERM, "netlink: enter the network namespace: %s "
				   "(needs CAP_SYS_ADMIN over that namespace's user namespace)",
				   strerror(EPERM));
	if (a.error)
		return lsh_err_set(err, a.error, "netlink: open a socket in the network namespace");
	return a.fd;
}

struct ns_of_pidfd {
	int pidfd;
	int fd;
	int error;
};

static void *ns_of_pidfd_thread(void *p)
{
	struct ns_of_pidfd *a = p;
	if (setns(a->pidfd, CLONE_NEWNET) < 0 ||
	    (a->fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)) < 0)
		a->error = errno;
	return NULL;
}

/* IFLA_NET_NS_FD wants a namespace fd, not a pidfd: a short-lived thread enters the
 * process's network namespace and opens its nsfs file. Returns a new fd. */
static int netns_fd_of_pidfd(int pidfd, struct lsh_err **err)
{
	struct ns_of_pidfd a = { pidfd, -1, 0 };
	pthread_t t;
	int r = pthread_create(&t, NULL, ns_of_pidfd_thread, &a);
	if (r != 0)
		return lsh_err_set(err, r, "netlink: start a thread to find the namespace");
	pthread_join(t, NULL);
	if (a.error)
		return lsh_err_set(err, a.error, "netlink: the network namespace of pidfd %d", pidfd);
	return a.fd;
}

int lsh_nl_open(struct lsh_nl **out, struct lsh_nl_ns ns, struct lsh_err **err)
{
	_cleanup_close_ int nsfd = -1;
	int borrowed = -1;

	*out = NULL;
	if (ns.by == LSH_NL_NS_PID) {
		char path[64];
		snprintf(path, sizeof path, "/proc/%d/ns/net", ns.value);
		if ((nsfd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			return lsh_err_set(err, errno, "netlink: open %s", path);
		borrowed = nsfd;
	} else if (ns.by == LSH_NL_NS_FD || ns.by == LSH_NL_NS_PIDFD) {
		borrowed = ns.value; /* setns() takes a pidfd with CLONE_NEWNET as well */
	}
	_cleanup_close_ int fd = socket_in(borrowed, err);
	if (fd < 0)
		return fd;
	int one = 1;
	/* Both are optional: an old kernel only loses the extra text. */
	(void)setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
	(void)setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);

	/* malloc, not calloc: zeroing the 32 KiB buffer would touch all of its pages, and
	 * each page fault is costly at a sandbox's start (issue #14); start() zeroes the
	 * NL_REQ_MAX bytes a request may use. */
	struct lsh_nl *nl = malloc(sizeof *nl);
	if (nl == NULL)
		return lsh_err_set(err, ENOMEM, "netlink");
	nl->ext[0] = '\0';
	if ((nl->sk = mnl_socket_fdopen(fd)) == NULL) {
		free(nl);
		return lsh_err_set(err, errno ? errno : ENOMEM, "netlink: mnl_socket_fdopen");
	}
	take_fd(&fd);
	if (mnl_socket_bind(nl->sk, 0, MNL_SOCKET_AUTOPID) < 0) {
		int e = errno;
		lsh_nl_close(nl);
		return lsh_err_set(err, e, "netlink: bind");
	}
	nl->portid = mnl_socket_get_portid(nl->sk);
	nl->seq = (uint32_t)time(NULL);
	*out = nl;
	return 0;
}

void lsh_nl_close(struct lsh_nl *nl)
{
	if (nl == NULL)
		return;
	mnl_socket_close(nl->sk);
	free(nl);
}

/* ---- requests and answers ----------------------------------------------------------- */

static struct nlmsghdr *start(struct lsh_nl *nl, uint16_t type, uint16_t flags)
{
	memset(nl->buf, 0, NL_REQ_MAX);
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(nl->buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = ++nl->seq;
	return nlh;
}

/* One request in flight: the handle (for the extended ack) and, for a dump, the callback
 * that sees each answer. */
struct call {
	struct lsh_nl *nl;
	int (*row)(const struct nlmsghdr *nlh, struct call *c);
	void *fn;
	void *data;
	int stopped; /* the caller's callback asked to stop: the rest is drained unseen */
};

static int ext_attr(const struct nlattr *a, void *data)
{
	struct lsh_nl *nl = data;
	if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG && mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
		snprintf(nl->ext, sizeof nl->ext, "%s", mnl_attr_get_str(a));
	return MNL_CB_OK;
}

/* NLMSG_ERROR: keeps the extended-ack text, then sets errno as libmnl's own handler does. */
static int on_error(const struct nlmsghdr *nlh, void *data)
{
	struct call *c = data;
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof *e)) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
		/* The TLVs follow the echoed request, or only its header when capped. */
		size_t off = sizeof *e;
		if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
			off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
		if (mnl_nlmsg_size(off) < nlh->nlmsg_len)
			mnl_attr_parse(nlh, (unsigned)off, ext_attr, c->nl);
	}
	if (e->error == 0)
		return MNL_CB_STOP;
	errno = e->error < 0 ? -e->error : e->error;
	return MNL_CB_ERROR;
}

/* NLMSG_DONE ends a dump; it carries an error when the dump failed part way. */
static int on_done(const struct nlmsghdr *nlh, void *data)
{
	(void)data;
	if (nlh->nlmsg_len >= mnl_nlmsg_size(sizeof(int))) {
		int e = *(const int *)mnl_nlmsg_get_payload(nlh);
		if (e < 0) {
			errno = -e;
			return MNL_CB_ERROR;
		}
	}
	return MNL_CB_STOP;
}

static int on_overrun(const struct nlmsghdr *nlh, void *data)
{
	(void)nlh;
	(void)data;
	errno = ENOSPC;
	return MNL_CB_ERROR;
}

static int on_data(const struct nlmsghdr *nlh, void *data)
{
	struct call *c = data;
	if (c->row == NULL || c->stopped)
		return MNL_CB_OK;
	if (c->row(nlh, c) != 0)
		c->stopped = 1;
	return MNL_CB_OK;
}

/* "what: strerror" or "what: strerror (the kernel's extended-ack text)". */
static int refused(struct lsh_nl *nl, int code, const char *what, struct lsh_err **err)
{
	if (nl->ext[0])
		return lsh_err_msg(err, code, "%s: %s (%s)", what, strerror(code), nl->ext);
	return lsh_err_msg(err, code, "%s: %s", what, strerror(code));
}

/* Sends the request in nl->buf and reads until its answer: an ack, or a whole dump. */
static int talk(struct lsh_nl *nl, struct nlmsghdr *nlh, struct call *c, const char *what,
		struct lsh_err **err)
{
	mnl_cb_t ctl[NLMSG_MIN_TYPE] = { [NLMSG_ERROR] = on_error, [NLMSG_DONE] = on_done,
					   [NLMSG_OVERRUN] = on_overrun };
	struct call plain = { nl, NULL, NULL, NULL, 0 };
	char rbuf[NL_BUF];

	if (c == NULL)
		c = &plain;
	nl->ext[0] = '\0';
	if (nlh->nlmsg_len > NL_REQ_MAX)
		return lsh_err_msg(err, EMSGSIZE, "%s: a request of %u bytes (at most %d)", what,
				   (unsigned)nlh->nlmsg_len, NL_REQ_MAX);
	if (mnl_socket_sendto(nl->sk, nlh, nlh->nlmsg_len) < 0)
		return lsh_err_set(err, errno, "%s: netlink send", what);
	uint32_t seq = nlh->nlmsg_seq;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl->sk, rbuf, sizeof rbuf);
		if (n < 0)
			return lsh_err_set(err, errno, "%s: netlink receive", what);
		errno = 0;
		int r = mnl_cb_run2(rbuf, (size_t)n, seq, nl->portid, on_data, c, ctl, NLMSG_MIN_TYPE);
		if (r == MNL_CB_STOP)
			return 0;
		if (r == MNL_CB_ERROR)
			return refused(nl, errno ? errno : EIO, what, err);
	}
}

/* ---- links -------------------------------------------------------------------------- */

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char tail;
	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6)
		return -1;
	for (int i = 0; i < 6; i++) {
		if (v[i] > 255)
			return -1;
		mac[i] = (uint8_t)v[i];
	}
	return 0;
}

static int index_row(const struct nlmsghdr *nlh, struct call *c)
{
	const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
	if (nlh->nlmsg_type == RTM_NEWLINK)
		*(int *)c->data = ifm->ifi_index;
	return 0;
}

int lsh_nl_link_index(struct lsh_nl *nl, const char *name, struct lsh_err **err)
{
	char what[64];
	int index = 0;
	struct call c = { nl, index_row, NULL, &index, 0 };

	snprintf(what, sizeof what, "find link %s", name);
	if (strlen(name) >= IFNAMSIZ)
		return lsh_err_msg(err, EINVAL, "%s: a link name has at most %d bytes", what, IFNAMSIZ - 1);
	struct nlmsghdr *nlh = start(nl, RTM_GETLINK, NLM_F_ACK);
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof *ifm);
	ifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	int r = talk(nl, nlh, &c, what, err);
	if (r < 0)
		return r;
	if (index <= 0)
		return lsh_err_msg(err, ENODEV, "%s: %s", what, strerror(ENODEV));
	return index;
}

/* IFLA_NET_NS_FD or IFLA_NET_NS_PID, for a link (or a veth peer) to be created or moved. */
static void put_ns(struct nlmsghdr *nlh, struct lsh_nl_ns ns)
{
	if (ns.by == LSH_NL_NS_FD)
		mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)ns.value);
	else if (ns.by == LSH_NL_NS_PID)
		mnl_attr_put_u32(nlh, IFLA_NET_NS_PID, (uint32_t)ns.value);
}

static int check_name(const char *what, const char *name, struct lsh_err **err)
{
	if (name == NULL || name[0] == '\0' || strlen(name) >= IFNAMSIZ || strchr(name, '/') ||
	    strchr(name, ' '))
		return lsh_err_msg(err, EINVAL, "%s: bad link name \"%s\" (1 to %d bytes, no '/' or space)",
				   what, name ? name : "", IFNAMSIZ - 1);
	return 0;
}

static const struct {
	const char *name;
	uint32_t mode;
} macvlan_modes[] = {
	{ "bridge", MACVLAN_MODE_BRIDGE }, { "private", MACVLAN_MODE_PRIVATE },
	{ "vepa", MACVLAN_MODE_VEPA }, { "passthru", MACVLAN_MODE_PASSTHRU },
};

int lsh_nl_link_add(struct lsh_nl *nl, const struct lsh_nl_link_spec *sp, struct lsh_err **err)
{
	char what[128];
	uint8_t mac[6];
	int master = 0, parent = 0;
	const char *kind = sp->kind ? sp->kind : "";
	int r;

	if (strcmp(kind, "veth") == 0)
		snprintf(what, sizeof what, "add veth %s (peer %s)", sp->name ? sp->name : "?",
			 sp->peer ? sp->peer : "?");
	else
		snprintf(what, sizeof what, "add %s %s", kind, sp->name ? sp->name : "?");
	if ((r = check_name(what, sp->name, err)) < 0)
		return r;
	int veth = strcmp(kind, "veth") == 0, macvlan = strcmp(kind, "macvlan") == 0;
	if (!veth && !macvlan && strcmp(kind, "bridge") != 0 && strcmp(kind, "dummy") != 0)
		return lsh_err_msg(err, EINVAL, "%s: unknown kind \"%s\" (veth, bridge, dummy or macvlan)",
				   what, kind);
	if (veth && (r = check_name(what, sp->peer, err)) < 0)
		return r;
	if (sp->mac && parse_mac(sp->mac, mac) < 0)
		return lsh_err_msg(err, EINVAL, "%s: bad MAC address \"%s\"", what, sp->mac);
	if (sp->master && (master = lsh_nl_link_index(nl, sp->master, err)) < 0)
		return lsh_err_wrap(err, "%s: master", what);
	if (macvlan) {
		if (sp->parent == NULL)
			return lsh_err_msg(err, EINVAL, "%s: a macvlan needs a parent link", what);
		if ((parent = lsh_nl_link_index(nl, sp->parent, err)) < 0)
			return lsh_err_wrap(err, "%s: parent", what);
	}
	uint32_t mode = MACVLAN_MODE_BRIDGE;
	if (sp->mode) {
		size_t i;
		for (i = 0; i < LSH_ARRAY_SIZE(macvlan_modes); i++)
			if (strcmp(macvlan_modes[i].name, sp->mode) == 0)
				break;
		if (i == LSH_ARRAY_SIZE(macvlan_modes))
			return lsh_err_msg(err, EINVAL, "%s: unknown macvlan mode \"%s\"", what, sp->mode);
		mode = macvlan_modes[i].mode;
	}

	struct lsh_nl_ns peer_ns = sp->peer_ns;
	_cleanup_close_ int peer_fd = -1;
	if (veth && peer_ns.by == LSH_NL_NS_PIDFD) {
		if ((peer_fd = netns_fd_of_pidfd(peer_ns.value, err)) < 0)
			return lsh_err_wrap(err, "%s", what);
		peer_ns = (struct lsh_nl_ns){ LSH_NL_NS_FD, peer_fd };
	}

	struct nlmsghdr *nlh = start(nl, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK);
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof *ifm);
	ifm->ifi_family = AF_UNSPEC;
	if (sp->up && !veth) {
		ifm->ifi_change = IFF_UP;
		ifm->ifi_flags = IFF_UP;
	}
	mnl_attr_put_strz(nlh, IFLA_IFNAME, sp->name);
	if (sp->mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, sp->mtu);
	if (sp->mac)
		mnl_attr_put(nlh, IFLA_ADDRESS, sizeof mac, mac);
	if (master)
		mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)master);
	if (parent)
		mnl_attr_put_u32(nlh, IFLA_LINK, (uint32_t)parent);
	struct nlattr *info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, kind);
	if (veth) {
		struct nlattr *data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
		struct nlattr *peer = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
		/* The peer's attributes start with a struct ifinfomsg of their own. */
		struct ifinfomsg *pm = mnl_nlmsg_get_payload_tail(nlh);
		memset(pm, 0, MNL_ALIGN(sizeof *pm));
		pm->ifi_family = AF_UNSPEC;
		nlh->nlmsg_len += MNL_ALIGN(sizeof *pm);
		mnl_attr_put_strz(nlh, IFLA_IFNAME, sp->peer);
		if (sp->mtu)
			mnl_attr_put_u32(nlh, IFLA_MTU, sp->mtu);
		put_ns(nlh, peer_ns);
		mnl_attr_nest_end(nlh, peer);
		mnl_attr_nest_end(nlh, data);
	} else if (macvlan) {
		struct nlattr *data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
		mnl_attr_put_u32(nlh, IFLA_MACVLAN_MODE, mode);
		mnl_attr_nest_end(nlh, data);
	}
	mnl_attr_nest_end(nlh, info);
	if ((r = talk(nl, nlh, NULL, what, err)) < 0 || !(veth && sp->up))
		return r;
	/* veth_open() refuses (ENOTCONN) while the pair is half made, which is the case when
	 * the kernel applies creation flags: a veth end goes up in a second request. */
	struct lsh_nl_link_change up = { .what = LSH_NL_SET_UP };
	if ((r = lsh_nl_link_set(nl, sp->name, &up, err)) < 0)
		/* All or nothing: the caller records no pair it was told failed. */
		lsh_nl_link_del(nl, sp->name, NULL);
	return r;
}

int lsh_nl_link_del(struct lsh_nl *nl, const char *name, struct lsh_err **err)
{
	char what[64];
	int r;
	snprintf(what, sizeof what, "delete link %s", name ? name : "?");
	if ((r = check_name(what, name, err)) < 0)
		return r;
	struct nlmsghdr *nlh = start(nl, RTM_DELLINK, NLM_F_ACK);
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof *ifm);
	ifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	return talk(nl, nlh, NULL, what, err);
}

/* "set link lsv0 up mtu 1400 master lsbr0" */
static void describe_change(char *buf, size_t size, const char *name, const struct lsh_nl_link_change *c)
{
	int n = snprintf(buf, size, "set link %s", name);
	if (c->what & LSH_NL_SET_UP)
		n += snprintf(buf + n, size - (size_t)n, " up");
	if (c->what & LSH_NL_SET_DOWN)
		n += snprintf(buf + n, size - (size_t)n, " down");
	if (c->what & LSH_NL_SET_MTU)
		n += snprintf(buf + n, size - (size_t)n, " mtu %u", c->mtu);
	if (c->what & LSH_NL_SET_NAME)
		n += snprintf(buf + n, size - (size_t)n, " name %s", c->name ? c->name : "?");
	if (c->what & LSH_NL_SET_MAC)
		n += snprintf(buf + n, size - (size_t)n, " address %s", c->mac ? c->mac : "?");
	if (c->what & LSH_NL_SET_MASTER)
		n += snprintf(buf + n, size - (size_t)n, c->master && *c->master ? " master %s" : " nomaster",
			      c->master);
	if (c->what & LSH_NL_SET_NETNS)
		snprintf(buf + n, size - (size_t)n, " netns %s %d",
			 c->netns.by == LSH_NL_NS_PID ? "pid" : c->netns.by == LSH_NL_NS_PIDFD ? "pidfd" : "fd",
			 c->netns.value);
}

int lsh_nl_link_set(struct lsh_nl *nl, const char *name, const struct lsh_nl_link_change *c,
		    struct lsh_err **err)
{
	char what[192];
	uint8_t mac[6];
	int master = 0, index = 0, r;

	describe_change(what, sizeof what, name ? name : "?", c);
	if ((r = check_name(what, name, err)) < 0)
		return r;
	if ((c->what & LSH_NL_SET_NAME) && (r = check_name(what, c->name, err)) < 0)
		return r;
	if ((c->what & LSH_NL_SET_MAC) && (c->mac == NULL || parse_mac(c->mac, mac) < 0))
		return lsh_err_msg(err, EINVAL, "%s: bad MAC address", what);
	if ((c->what & LSH_NL_SET_MASTER) && c->master && *c->master &&
	    (master = lsh_nl_link_index(nl, c->master, err)) < 0)
		return lsh_err_wrap(err, "%s", what);
	/* A rename needs the index; otherwise the kernel finds the link by IFLA_IFNAME. */
	if ((c->what & LSH_NL_SET_NAME) && (index = lsh_nl_link_index(nl, name, err)) < 0)
		return lsh_err_wrap(err, "%s", what);

	struct lsh_nl_ns to = c->netns;
	_cleanup_close_ int to_fd = -1;
	if ((c->what & LSH_NL_SET_NETNS) && to.by == LSH_NL_NS_PIDFD) {
		if ((to_fd = netns_fd_of_pidfd(to.value, err)) < 0)
			return lsh_err_wrap(err, "%s", what);
		to = (struct lsh_nl_ns){ LSH_NL_NS_FD, to_fd };
	}

	struct nlmsghdr *nlh = start(nl, RTM_NEWLINK, NLM_F_ACK);
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof *ifm);
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = index;
	if (c->what & (LSH_NL_SET_UP | LSH_NL_SET_DOWN)) {
		ifm->ifi_change = IFF_UP;
		ifm->ifi_flags = (c->what & LSH_NL_SET_UP) ? IFF_UP : 0;
	}
	mnl_attr_put_strz(nlh, IFLA_IFNAME, index ? c->name : name);
	if (c->what & LSH_NL_SET_MTU)
		mnl_attr_put_u32(nlh, IFLA_MTU, c->mtu);
	if (c->what & LSH_NL_SET_MAC)
		mnl_attr_put(nlh, IFLA_ADDRESS, sizeof mac, mac);
	if (c->what & LSH_NL_SET_MASTER)
		mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)master);
	if (c->what & LSH_NL_SET_NETNS)
		put_ns(nlh, to);
	return talk(nl, nlh, NULL, what, err);
}

/* ---- addresses and routes ------------------------------------------------------------ */

struct inet {
	int family;
	unsigned len;	/* prefix length */
	int has_len;
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} a;
};

static int parse_inet(const char *s, struct inet *out)
{
	char host[64];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	if (n == 0 || n >= sizeof host)
		return -1;
	memcpy(host, s, n);
	host[n] = '\0';
	memset(out, 0, sizeof *out);
	out->family = strchr(host, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(out->family, host, &out->a) != 1)
		return -1;
	unsigned max = out->family == AF_INET ? 32 : 128;
	out->len = max;
	if (slash) {
		char *end;
		unsigned long l = strtoul(slash + 1, &end, 10);
		if (slash[1] == '\0' || *end || l > max)
			return -1;
		out->len = (unsigned)l;
		out->has_len = 1;
	}
	return 0;
}

static size_t inet_size(const struct inet *i)
{
	return i->family == AF_INET ? sizeof i->a.v4 : sizeof i->a.v6;
}

static int addr_change(struct lsh_nl *nl, uint16_t type, const char *dev, const char *cidr,
		       struct lsh_err **err)
{
	char what[128];
	struct inet in;
	snprintf(what, sizeof what, "%s address %s %s %s", type == RTM_NEWADDR ? "add" : "delete",
		 cidr ? cidr : "?", type == RTM_NEWADDR ? "to" : "from", dev ? dev : "?");
	if (cidr == NULL || parse_inet(cidr, &in) < 0)
		return lsh_err_msg(err, EINVAL, "%s: bad address (expected 10.0.0.1/24 or fd00::1/64)", what);
	int index = lsh_nl_link_index(nl, dev ? dev : "", err);
	if (index < 0)
		return lsh_err_wrap(err, "%s", what);
	struct nlmsghdr *nlh = start(nl, type, NLM_F_ACK | (type == RTM_NEWADDR ? NLM_F_CREATE | NLM_F_EXCL : 0));
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof *ifa);
	ifa->ifa_family = (uint8_t)in.family;
	ifa->ifa_prefixlen = (uint8_t)in.len;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (uint32_t)index;
	mnl_attr_put(nlh, IFA_LOCAL, inet_size(&in), &in.a);
	mnl_attr_put(nlh, IFA_ADDRESS, inet_size(&in), &in.a);
	return talk(nl, nlh, NULL, what, err);
}

int lsh_nl_addr_add(struct lsh_nl *nl, const char *dev, const char *cidr, struct lsh_err **err)
{
	return addr_change(nl, RTM_NEWADDR, dev, cidr, err);
}

int lsh_nl_addr_del(struct lsh_nl *nl, const char *dev, const char *cidr, struct lsh_err **err)
{
	return addr_change(nl, RTM_DELADDR, dev, cidr, err);
}

static int route_change(struct lsh_nl *nl, uint16_t type, const char *dst, const char *via,
			const char *dev, struct lsh_err **err)
{
	char what[160];
	struct inet d, g;
	int index = 0, is_default = dst == NULL || strcmp(dst, "default") == 0;

	snprintf(what, sizeof what, "%s route %s%s%s%s%s", type == RTM_NEWROUTE ? "add" : "delete",
		 dst ? dst : "default", via ? " via " : "", via ? via : "", dev ? " dev " : "",
		 dev ? dev : "");
	memset(&d, 0, sizeof d);
	if (!is_default && parse_inet(dst, &d) < 0)
		return lsh_err_msg(err, EINVAL, "%s: bad destination (expected default or a CIDR)", what);
	if (via && parse_inet(via, &g) < 0)
		return lsh_err_msg(err, EINVAL, "%s: bad gateway address", what);
	if (via == NULL && dev == NULL)
		return lsh_err_msg(err, EINVAL, "%s: a route needs a gateway or a link", what);
	int family = is_default ? (via ? g.family : AF_INET) : d.family;
	if (via && g.family != family)
		return lsh_err_msg(err, EINVAL, "%s: the gateway is not of the destination's family", what);
	if (dev && (index = lsh_nl_link_index(nl, dev, err)) < 0)
		return lsh_err_wrap(err, "%s", what);

	uint16_t flags = NLM_F_ACK | (type == RTM_NEWROUTE ? NLM_F_CREATE | NLM_F_EXCL : 0);
	struct nlmsghdr *nlh = start(nl, type, flags);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof *rtm);
	rtm->rtm_family = (uint8_t)family;
	rtm->rtm_dst_len = (uint8_t)(is_default ? 0 : d.len);
	rtm->rtm_table = RT_TABLE_MAIN;
	if (type == RTM_NEWROUTE) {
		/* As `ip route add`: a user route, link scope when it has no gateway. */
		rtm->rtm_protocol = RTPROT_BOOT;
		rtm->rtm_scope = via ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
		rtm->rtm_type = RTN_UNICAST;
	} else {
		rtm->rtm_scope = RT_SCOPE_NOWHERE;
	}
	if (!is_default)
		mnl_attr_put(nlh, RTA_DST, inet_size(&d), &d.a);
	if (via)
		mnl_attr_put(nlh, RTA_GATEWAY, inet_size(&g), &g.a);
	if (index)
		mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)index);
	return talk(nl, nlh, NULL, what, err);
}

int lsh_nl_route_add(struct lsh_nl *nl, const char *dst, const char *via, const char *dev,
		     struct lsh_err **err)
{
	return route_change(nl, RTM_NEWROUTE, dst, via, dev, err);
}

int lsh_nl_route_del(struct lsh_nl *nl, const char *dst, const char *via, const char *dev,
		     struct lsh_err **err)
{
	return route_change(nl, RTM_DELROUTE, dst, via, dev, err);
}

/* ---- dumps -------------------------------------------------------------------------- */

/* Collects the attributes of one message by type (the table has max+1 slots). */
struct attrs {
	const struct nlattr **tb;
	int max;
};

static int collect(const struct nlattr *a, void *data)
{
	struct attrs *t = data;
	int type = mnl_attr_get_type(a);
	if (type <= t->max)
		t->tb[type] = a;
	return MNL_CB_OK;
}

static void ntop(int family, const struct nlattr *a, char *out, size_t size)
{
	out[0] = '\0';
	if (a && mnl_attr_get_payload_len(a) >= (family == AF_INET ? 4u : 16u))
		inet_ntop(family, mnl_attr_get_payload(a), out, (socklen_t)size);
}

static int link_row(const struct nlmsghdr *nlh, struct call *c)
{
	const struct nlattr *tb[IFLA_MAX + 1] = { 0 }, *info[IFLA_INFO_MAX + 1] = { 0 };
	struct attrs t = { tb, IFLA_MAX }, ti = { info, IFLA_INFO_MAX };
	const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
	struct lsh_nl_link_info l;

	if (nlh->nlmsg_type != RTM_NEWLINK)
		return 0;
	mnl_attr_parse(nlh, sizeof *ifm, collect, &t);
	memset(&l, 0, sizeof l);
	l.index = ifm->ifi_index;
	l.flags = ifm->ifi_flags;
	l.up = (ifm->ifi_flags & IFF_UP) != 0;
	l.name = tb[IFLA_IFNAME] ? mnl_attr_get_str(tb[IFLA_IFNAME]) : "";
	l.mtu = tb[IFLA_MTU] ? mnl_attr_get_u32(tb[IFLA_MTU]) : 0;
	l.master = tb[IFLA_MASTER] ? (int)mnl_attr_get_u32(tb[IFLA_MASTER]) : 0;
	l.link = tb[IFLA_LINK] ? (int)mnl_attr_get_u32(tb[IFLA_LINK]) : 0;
	l.link_netnsid = tb[IFLA_LINK_NETNSID] ? (int)mnl_attr_get_u32(tb[IFLA_LINK_NETNSID]) : -1;
	if (tb[IFLA_ADDRESS] && mnl_attr_get_payload_len(tb[IFLA_ADDRESS]) == 6) {
		const uint8_t *m = mnl_attr_get_payload(tb[IFLA_ADDRESS]);
		snprintf(l.mac, sizeof l.mac, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3],
			 m[4], m[5]);
	}
	if (tb[IFLA_LINKINFO]) {
		mnl_attr_parse_nested(tb[IFLA_LINKINFO], collect, &ti);
		if (info[IFLA_INFO_KIND])
			l.kind = mnl_attr_get_str(info[IFLA_INFO_KIND]);
	}
	return ((lsh_nl_link_fn)c->fn)(&l, c->data);
}

int lsh_nl_link_dump(struct lsh_nl *nl, lsh_nl_link_fn fn, void *data, struct lsh_err **err)
{
	struct call c = { nl, link_row, (void *)fn, data, 0 };
	struct nlmsghdr *nlh = start(nl, RTM_GETLINK, NLM_F_DUMP);
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof *ifm);
	ifm->ifi_family = AF_UNSPEC;
	return talk(nl, nlh, &c, "list links", err);
}

static int addr_row(const struct nlmsghdr *nlh, struct call *c)
{
	const struct nlattr *tb[IFA_MAX + 1] = { 0 };
	struct attrs t = { tb, IFA_MAX };
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	struct lsh_nl_addr_info a;

	if (nlh->nlmsg_type != RTM_NEWADDR)
		return 0;
	mnl_attr_parse(nlh, sizeof *ifa, collect, &t);
	memset(&a, 0, sizeof a);
	a.index = (int)ifa->ifa_index;
	a.family = ifa->ifa_family;
	a.prefix = ifa->ifa_prefixlen;
	a.scope = ifa->ifa_scope;
	ntop(a.family, tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS], a.addr, sizeof a.addr);
	return ((lsh_nl_addr_fn)c->fn)(&a, c->data);
}

int lsh_nl_addr_dump(struct lsh_nl *nl, int family, lsh_nl_addr_fn fn, void *data,
		     struct lsh_err **err)
{
	struct call c = { nl, addr_row, (void *)fn, data, 0 };
	struct nlmsghdr *nlh = start(nl, RTM_GETADDR, NLM_F_DUMP);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof *ifa);
	ifa->ifa_family = (uint8_t)family;
	return talk(nl, nlh, &c, "list addresses", err);
}

static int route_row(const struct nlmsghdr *nlh, struct call *c)
{
	const struct nlattr *tb[RTA_MAX + 1] = { 0 };
	struct attrs t = { tb, RTA_MAX };
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct lsh_nl_route_info r;

	if (nlh->nlmsg_type != RTM_NEWROUTE)
		return 0;
	mnl_attr_parse(nlh, sizeof *rtm, collect, &t);
	memset(&r, 0, sizeof r);
	r.family = rtm->rtm_family;
	r.dst_len = rtm->rtm_dst_len;
	r.table = tb[RTA_TABLE] ? mnl_attr_get_u32(tb[RTA_TABLE]) : rtm->rtm_table;
	r.protocol = rtm->rtm_protocol;
	r.scope = rtm->rtm_scope;
	r.type = rtm->rtm_type;
	r.oif = tb[RTA_OIF] ? (int)mnl_attr_get_u32(tb[RTA_OIF]) : 0;
	ntop(r.family, tb[RTA_DST], r.dst, sizeof r.dst);
	ntop(r.family, tb[RTA_GATEWAY], r.gateway, sizeof r.gateway);
	return ((lsh_nl_route_fn)c->fn)(&r, c->data);
}

int lsh_nl_route_dump(struct lsh_nl *nl, int family, lsh_nl_route_fn fn, void *data,
		      struct lsh_err **err)
{
	struct call c = { nl, route_row, (void *)fn, data, 0 };
	struct nlmsghdr *nlh = start(nl, RTM_GETROUTE, NLM_F_DUMP);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof *rtm);
	rtm->rtm_family = (uint8_t)family;
	return talk(nl, nlh, &c, "list routes", err);
}
