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

#define W(x) (1u << LSH_WHERE_##x)

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

/* Runs in the child before its mounts change, so /run/netns is still the host's. */
static int op_netns_join(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	int fd = lsh_netns_open(s->strs[1], s->strs[0], err);
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
				   s->strs[0], strerror(EPERM));
	if (r < 0)
		return lsh_err_set(err, e, "join netns %s", s->strs[0]);
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

static int op_veth(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	struct lsh_nl *nl;
	struct lsh_nl_link_spec sp = {
		.name = s->strs[0], .kind = "veth", .peer = s->strs[1],
		.peer_ns = { LSH_NL_NS_PID, ctx->pid }, .master = s->strs[2],
		.mtu = (unsigned)s->ints[0], .up = 1,
	};
	int r = lsh_spawn_need(ctx, CLONE_NEWNET, 1, "veth", err);
	if (r < 0)
		return r;
	r = lsh_nl_open(&nl, here, err);
	if (r < 0)
		return r;
	r = lsh_nl_link_add(nl, &sp, err);
	if (r == -EPERM) {
		lsh_nl_close(nl);
		return lsh_err_wrap(err, "a host-side link needs CAP_NET_ADMIN in the host's network "
				    "namespace: run as root, or keep both ends in namespaces you own "
				    "(a topology brought up rootless, then network = { join = … })");
	}
	if (r == 0) {
		char *name = strdup(s->strs[0]);
		if (name == NULL) {
			lsh_nl_link_del(nl, s->strs[0], NULL);
			r = lsh_err_set(err, ENOMEM, "veth %s", s->strs[0]);
		} else {
			r = lsh_spawn_defer(ctx, undo_link, name, err);
		}
	}
	if (r == 0)
		r = add_addrs(nl, s->strs[0], s->lists[0], err);
	lsh_nl_close(nl);
	return r;
}

/* Inside: a link's MTU, addresses and state. */
static int op_link_setup(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	struct lsh_nl *nl;
	struct lsh_nl_link_change c = { .what = s->ints[1] ? LSH_NL_SET_UP : 0 };
	if (lsh_spawn_need(ctx, CLONE_NEWNET, 0, "link_setup", err) < 0)
		return -(*err)->code;
	if (s->ints[0] > 0) {
		c.what |= LSH_NL_SET_MTU;
		c.mtu = (unsigned)s->ints[0];
	}
	int r = lsh_nl_open(&nl, here, err);
	if (r < 0)
		return r;
	if (c.what)
		r = lsh_nl_link_set(nl, s->strs[0], &c, err);
	if (r == 0)
		r = add_addrs(nl, s->strs[0], s->lists[0], err);
	lsh_nl_close(nl);
	return r;
}

static int op_route(const struct lsh_plan_step *s, struct lsh_spawn_ctx *ctx, struct lsh_err **err)
{
	struct lsh_nl *nl;
	int r = lsh_spawn_need(ctx, CLONE_NEWNET, 0, "route", err);
	if (r < 0)
		return r;
	r = lsh_nl_open(&nl, here, err);
	if (r < 0)
		return r;
	r = lsh_nl_route_add(nl, s->strs[0], s->strs[1], s->strs[2], err);
	lsh_nl_close(nl);
	return r;
}

const struct lsh_op lsh_ops_net[] = {
	{ "lo_up", W(CHILD), { { NULL, 0, 0, 0 } }, op_lo_up },
	{ "netns_join", W(CHILD),
	  { { "name", LSH_ARG_STR, 0, 1 }, { "dir", LSH_ARG_STR, 1, 0 } }, op_netns_join },
	{ "veth", W(SUPERVISOR),
	  { { "name", LSH_ARG_STR, 0, 1 }, { "peer", LSH_ARG_STR, 1, 1 },
	    { "master", LSH_ARG_STR, 2, 0 }, { "mtu", LSH_ARG_INT, 0, 0 },
	    { "addresses", LSH_ARG_LIST, 0, 0 } }, op_veth },
	{ "link_setup", W(CHILD),
	  { { "name", LSH_ARG_STR, 0, 1 }, { "mtu", LSH_ARG_INT, 0, 0 }, { "up", LSH_ARG_BOOL, 1, 0 },
	    { "addresses", LSH_ARG_LIST, 0, 0 } }, op_link_setup },
	{ "route", W(CHILD),
	  { { "to", LSH_ARG_STR, 0, 1 }, { "via", LSH_ARG_STR, 1, 0 }, { "dev", LSH_ARG_STR, 2, 0 } },
	  op_route },
	{ NULL, 0, { { NULL, 0, 0, 0 } }, NULL },
};
