/* The plan operations of the network area: loopback up, joining a named netns, a veth
 * pair from the host into the sandbox, and the configuration of links and routes inside.
 *
 * The veth is created by the supervisor with its peer born directly in the child's
 * namespace (IFLA_NET_NS_PID), which costs ~0.6 ms where moving a link costs ~16 ms. The
 * host end is recorded for removal on every exit path; should the supervisor itself be
 * killed, the child dies with it (PDEATHSIG) and the kernel destroys the pair with the
 * child's namespace. */
#include "internal.h"
#include "syscalls.h"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

static const struct lsh_nl_ns here = { LSH_NL_NS_HERE, 0 };

static int op_lo_up(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	struct lsh_nl *nl;
	struct lsh_nl_link_change up = { .what = LSH_NL_SET_UP };
	(void)s;
	int r = lsh_spawn_need(ctx, CLONE_NEWNET, 0, "lo_up", err);
	if (r < 0)
		return r;
	r = lsh_nl_open(&nl, here, err);
	if (r < 0)
		return r;
	r = lsh_nl_link_set(nl, "lo", &up, err);
	lsh_nl_close(nl);
	return r;
}

/* netns_join: a supervisor step before the clone. It opens the namespace to join (and,
 * for a host of a rootless topology, the holder's user namespace) and leaves the fds in
 * ctx; lsh_spawn enters them just before the clone and, as root, goes back to its own
 * network namespace right after. The child is cloned without CLONE_NEWNET, so it is born
 * in the joined namespace, and with CLONE_NEWUSER (when the plan makes one) its user
 * namespace is a child of the namespace's owner, never its owner: the capabilities the
 * sandbox holds in it give no power over the joined namespace's links, addresses, routes
 * or sysctls (user_namespaces(7): a capability counts for the objects of the user
 * namespace it is held in, and its descendants). Joining from the child instead needs
 * CAP_SYS_ADMIN in the owner's namespace, which a sandbox with a user namespace of its
 * own never has: that was the EPERM of a root-made netns. */
enum { JOIN_NAME, JOIN_DIR, JOIN_TOPOLOGY, JOIN_STATE_ROOT, JOIN_STATE_PATH };	/* strs */

/* The netns and user namespace checks check_join leaves to the clone's check. */
static int check_join(const struct lsh_plan_step *s, struct lsh_plan_facts *facts, struct lsh_err **err)
{
	if (facts->net_join)
		return lsh_err_msg(err, EINVAL, "a second netns_join step");
	int topo = s->strs[JOIN_TOPOLOGY] != NULL;
	if (topo && (s->strs[JOIN_STATE_ROOT] == NULL || s->strs[JOIN_STATE_PATH] == NULL))
		return lsh_err_msg(err, EINVAL, "a topology's host needs state_root and state_path");
	if (topo && s->strs[JOIN_DIR] != NULL)
		return lsh_err_msg(err, EINVAL, "dir and topology do not go together");
	facts->net_join = topo ? 2 : 1;
	return 0;
}

/* The dev:inode of a namespace fd. */
static int ns_fd_id(int fd, uint64_t *dev, uint64_t *ino)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	*dev = (uint64_t)st.st_dev;
	*ino = (uint64_t)st.st_ino;
	return 0;
}

/* Whether fd is a network namespace owned by the user namespace (dev, ino): a pin in the
 * holder's view could be any file, or a netns of someone else's bind-mounted there. */
static int owned_netns(int fd, uint64_t dev, uint64_t ino, const char *name, struct lsh_err **err)
{
	uint64_t d = 0, i = 0;
	if (ioctl(fd, NS_GET_NSTYPE) != CLONE_NEWNET)
		return lsh_err_msg(err, EINVAL, "join %s: not a network namespace", name);
	int ufd = ioctl(fd, NS_GET_USERNS);
	if (ufd < 0)
		return lsh_err_set(err, errno, "join %s: its owner", name);
	int r = ns_fd_id(ufd, &d, &i);
	close(ufd);
	if (r < 0)
		return lsh_err_set(err, -r, "join %s: its owner", name);
	if (d != dev || i != ino)
		return lsh_err_msg(err, EPERM, "join %s: the netns is not the topology holder's", name);
	return 0;
}

/* A host of a rootless topology: the holder's pid from the caller's private state
 * directory (STATE_ROOT/STATE_PATH/net/TOPOLOGY.holder: "PID DEV:INODE", the inode being
 * its user namespace's, so a recycled pid is never taken for it), its user namespace, and
 * the host's pin as the holder's mount namespace has it (through /proc/PID/root: the pins
 * are mounted there only). */
static int open_topology_host(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	const char *topo = s->strs[JOIN_TOPOLOGY], *host = s->strs[JOIN_NAME];
	const char *root = s->strs[JOIN_STATE_ROOT], *path = s->strs[JOIN_STATE_PATH];
	char sub[512], file[256], proc[64];
	_cleanup_free_ char *text = NULL;
	size_t len;
	if (snprintf(sub, sizeof sub, "%s/net", path) >= (int)sizeof sub ||
	    snprintf(file, sizeof file, "%s.holder", topo) >= (int)sizeof file)
		return lsh_err_msg(err, ENAMETOOLONG, "join %s/%s: name too long", topo, host);
	_cleanup_close_ int dirfd = lsh_statedir_open(root, sub, 0, err);
	if (dirfd == -ENOENT || (dirfd >= 0 && lsh_statedir_read(dirfd, file, 64, &text, &len, err) == -ENOENT)) {
		lsh_err_free(*err);
		*err = NULL;
		return lsh_err_msg(err, ENOENT, "join %s/%s: the topology %s is not up (see `lunshare net list`)",
				   topo, host, topo);
	}
	if (dirfd < 0 || text == NULL)
		return lsh_err_wrap(err, "join %s/%s", topo, host);
	unsigned long long pid, dev, ino;
	char end;
	if (sscanf(text, "%llu %llu:%llu%c", &pid, &dev, &ino, &end) != 4 || end != '\n' || pid < 1 ||
	    pid > 0x3fffffff)
		return lsh_err_msg(err, EINVAL, "join %s/%s: %s is not a valid holder file", topo, host, file);
	snprintf(proc, sizeof proc, "/proc/%llu/ns/user", pid);
	_cleanup_close_ int ufd = open(proc, O_RDONLY | O_CLOEXEC);
	uint64_t d = 0, i = 0;
	if (ufd < 0 || ns_fd_id(ufd, &d, &i) < 0 || d != dev || i != ino)
		return lsh_err_msg(err, ESRCH, "join %s/%s: the topology's holder (pid %llu) is gone; "
				   "`lunshare net down` then `net up` brings it back", topo, host, pid);
	/* The pins' directory as the holder sees it, verified as every state directory is
	 * (owned by the caller, no symlink, no one else may write it). */
	char holder_root[600];
	if (snprintf(holder_root, sizeof holder_root, "/proc/%llu/root%s%s", pid, root[0] == '/' ? "" : "/", root) >=
	    (int)sizeof holder_root || snprintf(sub, sizeof sub, "%s/netns", path) >= (int)sizeof sub)
		return lsh_err_msg(err, ENAMETOOLONG, "join %s/%s: name too long", topo, host);
	_cleanup_close_ int pins = lsh_statedir_open(holder_root, sub, 0, err);
	if (pins < 0)
		return lsh_err_wrap(err, "join %s/%s: the holder's pins", topo, host);
	int nfd = lsh_netns_open_at(pins, host, err);
	if (nfd == -ENOENT) {
		lsh_err_free(*err);
		*err = NULL;
		return lsh_err_msg(err, ENOENT, "join %s/%s: the topology %s has no host %s up (see `lunshare net list`)",
				   topo, host, topo, host);
	}
	if (nfd < 0)
		return lsh_err_wrap(err, "join %s/%s", topo, host);
	if (owned_netns(nfd, dev, ino, host, err) < 0) {
		close(nfd);
		return -(*err)->code;
	}
	ctx->join_netns_fd = nfd;
	ctx->join_userns_fd = ufd;
	ufd = -1;
	return 0;
}

static int op_netns_join(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	if (ctx->join_netns_fd >= 0)
		return lsh_err_msg(err, EINVAL, "a second netns_join step");
	ctx->join_step = ctx->step;
	if (s->strs[JOIN_TOPOLOGY])
		return open_topology_host(s, ctx, err);
	int fd = lsh_netns_open(s->strs[JOIN_DIR], s->strs[JOIN_NAME], err);
	if (fd < 0)
		return fd;
	if (ioctl(fd, NS_GET_NSTYPE) != CLONE_NEWNET) {
		close(fd);
		return lsh_err_msg(err, EINVAL, "join netns %s: not a network namespace", s->strs[JOIN_NAME]);
	}
	ctx->join_netns_fd = fd;
	return 0;
}

int lsh_spawn_join_enter(struct lsh_spawn_ctx *ctx, int *back, struct lsh_err **err)
{
	*back = -1;
	if (ctx->join_netns_fd < 0)
		return 0;
	ctx->net_joined = 1;
	if (ctx->join_userns_fd >= 0) {
		/* Rootless: into the holder's user namespace first (ours: every capability in
		 * it, which the netns's setns needs), for good: a user cannot come back to the
		 * initial one. The child's id maps are written in the holder's ids. */
		if (setns(ctx->join_userns_fd, CLONE_NEWUSER) < 0)
			return lsh_err_set(err, errno, "join: enter the topology holder's user namespace");
	} else {
		*back = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
		if (*back < 0)
			return lsh_err_set(err, errno, "join: keep our own network namespace");
	}
	if (setns(ctx->join_netns_fd, CLONE_NEWNET) < 0) {
		int e = errno;
		if (*back >= 0)
			close(*back);
		*back = -1;
		return lsh_err_set(err, e, "join: setns into the network namespace");
	}
	return 0;
}

static void undo_link(void *arg)
{
	struct lsh_nl *nl;
	if (lsh_nl_open(&nl, here, NULL) == 0) {
		/* ENODEV is fine: the pair goes with the child's namespace. */
		lsh_nl_link_del(nl, arg, NULL);
		lsh_nl_close(nl);
	}
	free(arg);
}

/* Adds each address of a list to dev. */
static int add_addrs(struct lsh_nl *nl, const char *dev, char **addrs, struct lsh_err **err)
{
	for (size_t i = 0; addrs && addrs[i]; i++) {
		int r = lsh_nl_addr_add(nl, dev, addrs[i], err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* veth: the host end name, its peer born in the child's namespace */
enum { VETH_NAME, VETH_PEER, VETH_MASTER };	/* strs */
enum { VETH_MTU };				/* ints */
enum { VETH_ADDRESSES };			/* lists: of the host end */

/* The pair of a veth step (or a plug_veth step, whose fields begin as veth's do), its
 * peer born in peer_ns; with undo, the host end is removed on every exit path of the run. */
static int make_veth(const struct lsh_plan_step *s, struct lsh_nl_ns near_ns, struct lsh_nl_ns peer_ns,
		     struct lsh_spawn_ctx *ctx, int undo, struct lsh_err **err)
{
	struct lsh_nl *nl;
	const char *host = s->strs[VETH_NAME];
	struct lsh_nl_link_spec sp = {
		.name = host, .kind = "veth", .peer = s->strs[VETH_PEER],
		.peer_ns = peer_ns, .master = s->strs[VETH_MASTER],
		.mtu = (unsigned)s->ints[VETH_MTU], .up = 1,
	};
	int r = lsh_nl_open(&nl, near_ns, err);
	if (r < 0)
		return r;
	r = lsh_nl_link_add(nl, &sp, err);
	if (r == -EPERM) {
		lsh_nl_close(nl);
		return lsh_err_wrap(err, "a host-side link needs CAP_NET_ADMIN in the host's network "
				    "namespace: run as root, or keep both ends in namespaces you own "
				    "(`lunshare net up FILE` as that user, then network = { join = \"TOPOLOGY/HOST\" })");
	}
	if (r == 0 && undo) {
		char *name = strdup(host);
		if (name == NULL) {
			lsh_nl_link_del(nl, host, NULL);
			r = lsh_err_set(err, ENOMEM, "veth %s", host);
		} else {
			r = lsh_spawn_defer(ctx, undo_link, name, err);
		}
	}
	if (r == 0)
		r = add_addrs(nl, host, s->lists[VETH_ADDRESSES], err);
	/* Without undo, the caller removes a pair whose addresses failed. */
	lsh_nl_close(nl);
	return r;
}

static int op_veth(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	int r = lsh_spawn_need(ctx, CLONE_NEWNET, 1, "veth", err);
	if (r < 0)
		return r;
	return make_veth(s, here, (struct lsh_nl_ns){ LSH_NL_NS_PID, ctx->pid }, ctx, 1, err);
}

/* plug_veth (`lunshare plug NAME veth …`): a veth into a running sandbox, its peer born in
 * the network namespace of the sandbox's command, named by a pidfd checked against its
 * start time and user namespace (no pid is looked up again). With near_pid (`--to OTHER`),
 * the other end is made in that sandbox's network namespace, named the same way, instead
 * of ours: the pair links two sandboxes. The pair outlives this run: it goes with either
 * sandbox's namespace, or with `lunshare unplug`. Refused when a namespace is ours (a
 * sandbox on the host's network), or when both ends would share one. */
enum { PV_PID = VETH_MTU + 1, PV_STARTTIME, PV_USER_NS, PV_NEAR_PID, PV_NEAR_STARTTIME, PV_NEAR_USER_NS }; /* ints */

/* A checked pidfd of pid's process, whose network namespace must not be ours; its id in *ino. */
static int sandbox_net(pid_t pid, int64_t starttime, int64_t user_ns, uint64_t *dev, uint64_t *ino,
		       struct lsh_err **err)
{
	int pidfd = lsh_join_pidfd(pid, (uint64_t)starttime, (uint64_t)user_ns, err);
	if (pidfd < 0)
		return pidfd;
	const struct lsh_ns_kind *net = lsh_ns_kind_by_name("net");
	uint64_t mydev, myino;
	int r = lsh_ns_id(pid, net, dev, ino, err);
	if (r == 0)
		r = lsh_ns_id(0, net, &mydev, &myino, err);
	if (r == 0 && *dev == mydev && *ino == myino)
		r = lsh_err_msg(err, EPERM, "process %d is on this network namespace, not one of its own", (int)pid);
	if (r < 0) {
		close(pidfd);
		return r;
	}
	return pidfd;
}

static int op_plug_veth(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	(void)ctx;
	uint64_t dev, ino, ndev = 0, nino = 0;
	_cleanup_close_ int pidfd = sandbox_net((pid_t)s->ints[PV_PID], s->ints[PV_STARTTIME], s->ints[PV_USER_NS],
						&dev, &ino, err);
	if (pidfd < 0)
		return lsh_err_wrap(err, "plug_veth");
	_cleanup_close_ int nearfd = -1;
	struct lsh_nl_ns near = here;
	if (s->ints[PV_NEAR_PID] > 0) {
		nearfd = sandbox_net((pid_t)s->ints[PV_NEAR_PID], s->ints[PV_NEAR_STARTTIME], s->ints[PV_NEAR_USER_NS],
				     &ndev, &nino, err);
		if (nearfd < 0)
			return lsh_err_wrap(err, "plug_veth");
		if (ndev == dev && nino == ino)
			return lsh_err_msg(err, EINVAL, "plug_veth: both ends would be in one network namespace");
		near = (struct lsh_nl_ns){ LSH_NL_NS_PIDFD, nearfd };
	}
	return make_veth(s, near, (struct lsh_nl_ns){ LSH_NL_NS_PIDFD, pidfd }, ctx, 0, err);
}

/* link_setup: inside, a link's MTU, addresses and state. */
enum { SETUP_NAME };				/* strs */
enum { SETUP_MTU, SETUP_UP };			/* ints */
enum { SETUP_ADDRESSES };			/* lists */

static int op_link_setup(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	struct lsh_nl *nl;
	const char *name = s->strs[SETUP_NAME];
	struct lsh_nl_link_change c = { .what = s->ints[SETUP_UP] ? LSH_NL_SET_UP : 0 };
	if (lsh_spawn_need(ctx, CLONE_NEWNET, 0, "link_setup", err) < 0)
		return -(*err)->code;
	if (s->ints[SETUP_MTU] > 0) {
		c.what |= LSH_NL_SET_MTU;
		c.mtu = (unsigned)s->ints[SETUP_MTU];
	}
	int r = lsh_nl_open(&nl, here, err);
	if (r < 0)
		return r;
	if (c.what)
		r = lsh_nl_link_set(nl, name, &c, err);
	if (r == 0)
		r = add_addrs(nl, name, s->lists[SETUP_ADDRESSES], err);
	lsh_nl_close(nl);
	return r;
}

/* route */
enum { ROUTE_TO, ROUTE_VIA, ROUTE_DEV };	/* strs */

static int op_route(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	struct lsh_nl *nl;
	int r = lsh_spawn_need(ctx, CLONE_NEWNET, 0, "route", err);
	if (r < 0)
		return r;
	r = lsh_nl_open(&nl, here, err);
	if (r < 0)
		return r;
	r = lsh_nl_route_add(nl, s->strs[ROUTE_TO], s->strs[ROUTE_VIA], s->strs[ROUTE_DEV], err);
	lsh_nl_close(nl);
	return r;
}

const struct lsh_op lsh_ops_net[] = {
	{ "lo_up", LSH_PHASE_CHILD, { { NULL, 0, 0, 0 } }, NULL, op_lo_up },
	{ "netns_join", LSH_PHASE_PREPARE,
	  { { "name", LSH_ARG_STR, JOIN_NAME, 1 }, { "dir", LSH_ARG_STR, JOIN_DIR, 0 },
	    { "topology", LSH_ARG_STR, JOIN_TOPOLOGY, 0 }, { "state_root", LSH_ARG_STR, JOIN_STATE_ROOT, 0 },
	    { "state_path", LSH_ARG_STR, JOIN_STATE_PATH, 0 } },
	  check_join, op_netns_join },
	{ "veth", LSH_PHASE_HOST,
	  { { "name", LSH_ARG_STR, VETH_NAME, 1 }, { "peer", LSH_ARG_STR, VETH_PEER, 1 },
	    { "master", LSH_ARG_STR, VETH_MASTER, 0 }, { "mtu", LSH_ARG_INT, VETH_MTU, 0 },
	    { "addresses", LSH_ARG_LIST, VETH_ADDRESSES, 0 } },
	  NULL, op_veth },
	{ "plug_veth", LSH_PHASE_HOST,
	  { { "name", LSH_ARG_STR, VETH_NAME, 1 }, { "peer", LSH_ARG_STR, VETH_PEER, 1 },
	    { "master", LSH_ARG_STR, VETH_MASTER, 0 }, { "mtu", LSH_ARG_INT, VETH_MTU, 0 },
	    { "addresses", LSH_ARG_LIST, VETH_ADDRESSES, 0 }, { "pid", LSH_ARG_INT, PV_PID, 1 },
	    { "starttime", LSH_ARG_INT, PV_STARTTIME, 1 }, { "user_ns", LSH_ARG_INT, PV_USER_NS, 0 },
	    { "near_pid", LSH_ARG_INT, PV_NEAR_PID, 0 }, { "near_starttime", LSH_ARG_INT, PV_NEAR_STARTTIME, 0 },
	    { "near_user_ns", LSH_ARG_INT, PV_NEAR_USER_NS, 0 } },
	  NULL, op_plug_veth },
	{ "link_setup", LSH_PHASE_CHILD,
	  { { "name", LSH_ARG_STR, SETUP_NAME, 1 }, { "mtu", LSH_ARG_INT, SETUP_MTU, 0 },
	    { "up", LSH_ARG_BOOL, SETUP_UP, 0 }, { "addresses", LSH_ARG_LIST, SETUP_ADDRESSES, 0 } },
	  NULL, op_link_setup },
	{ "route", LSH_PHASE_CHILD,
	  { { "to", LSH_ARG_STR, ROUTE_TO, 1 }, { "via", LSH_ARG_STR, ROUTE_VIA, 0 },
	    { "dev", LSH_ARG_STR, ROUTE_DEV, 0 } },
	  NULL, op_route },
	{ NULL, 0, { { NULL, 0, 0, 0 } }, NULL, NULL },
};
