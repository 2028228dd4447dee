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

#include <sched.h>
#include <string.h>

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

/* netns_join: runs in the child before its mounts change, so /run/netns is still the
 * host's. */
enum { JOIN_NAME, JOIN_DIR };			/* strs */

static int op_netns_join(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	const char *name = s->strs[JOIN_NAME];
	int fd = lsh_netns_open(s->strs[JOIN_DIR], name, err);
	if (fd < 0)
		return fd;
	int r = setns(fd, CLONE_NEWNET);
	int e = errno;
	close(fd);
	if (r == 0)
		ctx->net_joined = 1;
	if (r < 0 && e == EPERM)
		return lsh_err_msg(err, EPERM, "join netns %s: %s (a namespace made by root can be "
				   "joined only without a user namespace of our own, as root)",
				   name, strerror(EPERM));
	if (r < 0)
		return lsh_err_set(err, e, "join netns %s", name);
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
static int make_veth(const struct lsh_plan_step *s, struct lsh_nl_ns peer_ns, struct lsh_spawn_ctx *ctx, int undo,
		     struct lsh_err **err)
{
	struct lsh_nl *nl;
	const char *host = s->strs[VETH_NAME];
	struct lsh_nl_link_spec sp = {
		.name = host, .kind = "veth", .peer = s->strs[VETH_PEER],
		.peer_ns = peer_ns, .master = s->strs[VETH_MASTER],
		.mtu = (unsigned)s->ints[VETH_MTU], .up = 1,
	};
	int r = lsh_nl_open(&nl, here, err);
	if (r < 0)
		return r;
	r = lsh_nl_link_add(nl, &sp, err);
	if (r == -EPERM) {
		lsh_nl_close(nl);
		return lsh_err_wrap(err, "a host-side link needs CAP_NET_ADMIN in the host's network "
				    "namespace: run as root, or keep both ends in namespaces you own "
				    "(a topology brought up rootless, then network = { join = … })");
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
	return make_veth(s, (struct lsh_nl_ns){ LSH_NL_NS_PID, ctx->pid }, ctx, 1, err);
}

/* plug_veth (`lunshare plug NAME veth …`): a veth into a running sandbox, its peer born in
 * the network namespace of the sandbox's command, named by a pidfd checked against its
 * start time and user namespace (no pid is looked up again). The pair outlives this run:
 * it goes with the sandbox's namespace, or with `lunshare unplug`. Refused when that
 * namespace is ours (a sandbox on the host's network). */
enum { PV_PID = VETH_MTU + 1, PV_STARTTIME, PV_USER_NS };	/* ints, after veth's */

static int op_plug_veth(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	pid_t pid = (pid_t)s->ints[PV_PID];
	_cleanup_close_ int pidfd = lsh_join_pidfd(pid, (uint64_t)s->ints[PV_STARTTIME], (uint64_t)s->ints[PV_USER_NS],
						   err);
	if (pidfd < 0)
		return lsh_err_wrap(err, "plug_veth");
	const struct lsh_ns_kind *net = lsh_ns_kind_by_name("net");
	uint64_t dev, ino, mydev, myino;
	if (lsh_ns_id(pid, net, &dev, &ino, err) < 0 || lsh_ns_id(0, net, &mydev, &myino, err) < 0)
		return lsh_err_wrap(err, "plug_veth");
	if (dev == mydev && ino == myino)
		return lsh_err_msg(err, EPERM, "plug_veth: process %d is on this network namespace, not one of its own",
				   (int)pid);
	return make_veth(s, (struct lsh_nl_ns){ LSH_NL_NS_PIDFD, pidfd }, ctx, 0, err);
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
	{ "netns_join", LSH_PHASE_CHILD,
	  { { "name", LSH_ARG_STR, JOIN_NAME, 1 }, { "dir", LSH_ARG_STR, JOIN_DIR, 0 } }, NULL, op_netns_join },
	{ "veth", LSH_PHASE_HOST,
	  { { "name", LSH_ARG_STR, VETH_NAME, 1 }, { "peer", LSH_ARG_STR, VETH_PEER, 1 },
	    { "master", LSH_ARG_STR, VETH_MASTER, 0 }, { "mtu", LSH_ARG_INT, VETH_MTU, 0 },
	    { "addresses", LSH_ARG_LIST, VETH_ADDRESSES, 0 } },
	  NULL, op_veth },
	{ "plug_veth", LSH_PHASE_HOST,
	  { { "name", LSH_ARG_STR, VETH_NAME, 1 }, { "peer", LSH_ARG_STR, VETH_PEER, 1 },
	    { "master", LSH_ARG_STR, VETH_MASTER, 0 }, { "mtu", LSH_ARG_INT, VETH_MTU, 0 },
	    { "addresses", LSH_ARG_LIST, VETH_ADDRESSES, 0 }, { "pid", LSH_ARG_INT, PV_PID, 1 },
	    { "starttime", LSH_ARG_INT, PV_STARTTIME, 1 }, { "user_ns", LSH_ARG_INT, PV_USER_NS, 0 } },
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
