/* rtnetlink and named netns, in a network and mount namespace of the test's own (root
 * only: the machine's interfaces are never touched; rootless, everything is skipped). */
#include <errno.h>
#include <linux/if.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"
#include "lunshare.h"

static const char *msg(struct lsh_err *e) { return e && e->msg ? e->msg : ""; }

struct find {
	const char *name;
	struct lsh_nl_link_info got;
	int found;
	char namebuf[IFNAMSIZ];
};

static int find_link(const struct lsh_nl_link_info *l, void *data)
{
	struct find *f = data;
	if (strcmp(l->name, f->name) == 0) {
		f->got = *l;
		snprintf(f->namebuf, sizeof f->namebuf, "%s", l->name);
		f->got.name = f->namebuf;
		f->got.kind = NULL;
		f->found = 1;
		return 1; /* stop early: the rest of the dump must be drained silently */
	}
	return 0;
}

static int has_link(struct lsh_nl *nl, const char *name, struct lsh_nl_link_info *out)
{
	struct find f = { .name = name };
	if (lsh_nl_link_dump(nl, find_link, &f, NULL) < 0)
		return -1;
	if (out)
		*out = f.got;
	return f.found;
}

struct afind {
	int index;
	const char *addr;
	unsigned prefix;
	int found;
};

static int find_addr(const struct lsh_nl_addr_info *a, void *data)
{
	struct afind *f = data;
	if (a->index == f->index && strcmp(a->addr, f->addr) == 0 && a->prefix == f->prefix)
		f->found = 1;
	return 0;
}

struct rfind {
	int defaults;
	char gw[46];
};

static int find_default(const struct lsh_nl_route_info *r, void *data)
{
	struct rfind *f = data;
	if (r->dst_len == 0 && r->table == 254 && r->family == AF_INET) {
		f->defaults++;
		snprintf(f->gw, sizeof f->gw, "%s", r->gateway);
	}
	return 0;
}

static int setup_world(char *dir)
{
	if (unshare(CLONE_NEWNET | CLONE_NEWNS) < 0)
		return -1;
	if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return -1;
	if (mkdtemp(dir) == NULL)
		return -1;
	return mount("tmpfs", dir, "tmpfs", 0, "mode=0755");
}

int main(void)
{
	char dir[] = "/tmp/lsh-netns-XXXXXX";
	struct lsh_err *err = NULL;
	struct lsh_nl *nl = NULL, *in = NULL, *bypid = NULL;
	struct lsh_nl_link_info li;
	int r;

	if (geteuid() != 0) {
		skip("rtnetlink tests need root to make a throwaway network namespace");
		return done_testing();
	}
	if (setup_world(dir) < 0) {
		skip("cannot make a network+mount namespace: %s", strerror(errno));
		return done_testing();
	}
	uint64_t dev0, ino0, dev1, ino1;
	lsh_ns_id(0, lsh_ns_kind_by_name("net"), &dev0, &ino0, NULL);

	ok(lsh_netns_create(dir, "lsn1", &err) == 0, "netns create: %s", msg(err));
	r = lsh_netns_create(dir, "lsn1", &err);
	ok(r == -EEXIST && strstr(msg(err), "lsn1"), "a second create is EEXIST naming it: %s", msg(err));
	lsh_err_free(err), err = NULL;
	char **names = NULL;
	ok(lsh_netns_list(dir, &names, &err) == 1 && strcmp(names[0], "lsn1") == 0, "netns list");
	lsh_netns_list_free(names);
	int nsfd = lsh_netns_open(dir, "lsn1", &err);
	ok(nsfd >= 0, "netns open: %s", msg(err));
	r = lsh_netns_open(dir, "lsnope", &err);
	ok(r == -ENOENT && strstr(msg(err), "no such netns"), "open of a missing netns: %s", msg(err));
	lsh_err_free(err), err = NULL;

	ok(lsh_nl_open(&nl, (struct lsh_nl_ns){ LSH_NL_NS_HERE, 0 }, &err) == 0, "open here: %s", msg(err));
	ok(lsh_nl_open(&in, (struct lsh_nl_ns){ LSH_NL_NS_FD, nsfd }, &err) == 0, "open in netns by fd: %s", msg(err));
	ok(lsh_nl_open(&bypid, (struct lsh_nl_ns){ LSH_NL_NS_PID, getpid() }, &err) == 0, "open by pid: %s", msg(err));
	lsh_ns_id(0, lsh_ns_kind_by_name("net"), &dev1, &ino1, NULL);
	ok(ino0 == ino1, "the calling thread stayed in its namespace");

	struct lsh_nl_link_spec veth = { .name = "lsv0", .kind = "veth", .peer = "lsv0p",
					 .peer_ns = { LSH_NL_NS_FD, nsfd }, .mtu = 1400, .up = 1 };
	ok(lsh_nl_link_add(nl, &veth, &err) == 0, "veth with the peer born in the netns: %s", msg(err));
	ok(has_link(nl, "lsv0", &li) == 1 && li.up && li.mtu == 1400, "lsv0 is here, up, mtu 1400");
	ok(has_link(nl, "lsv0p", NULL) == 0, "lsv0p is not here");
	ok(has_link(in, "lsv0p", &li) == 1 && li.mtu == 1400, "lsv0p is in the netns with the mtu");
	ok(has_link(bypid, "lsv0", NULL) == 1, "a handle opened by pid sees this namespace");
	r = lsh_nl_link_add(nl, &veth, &err);
	ok(r == -EEXIST && strstr(msg(err), "add veth lsv0 (peer lsv0p): File exists"),
	   "duplicate veth names the request: %s", msg(err));
	lsh_err_free(err), err = NULL;

	ok(lsh_nl_addr_add(nl, "lsv0", "10.0.0.1/24", &err) == 0, "address here: %s", msg(err));
	r = lsh_nl_addr_add(nl, "lsv0", "10.0.0.1/24", &err);
	ok(r == -EEXIST && strstr(msg(err), "add address 10.0.0.1/24 to lsv0: File exists"),
	   "duplicate address: %s", msg(err));
	lsh_err_free(err), err = NULL;
	r = lsh_nl_addr_add(nl, "lsv0", "10.0.0.300/24", &err);
	ok(r == -EINVAL && strstr(msg(err), "bad address"), "bad address: %s", msg(err));
	lsh_err_free(err), err = NULL;
	r = lsh_nl_addr_add(nl, "lsnone", "10.0.0.1/24", &err);
	ok(r == -ENODEV && strstr(msg(err), "lsnone"), "address on a missing link: %s", msg(err));
	lsh_err_free(err), err = NULL;
	struct lsh_nl_link_change up = { .what = LSH_NL_SET_UP };
	ok(lsh_nl_link_set(in, "lsv0p", &up, &err) == 0, "peer up from inside: %s", msg(err));
	ok(lsh_nl_addr_add(in, "lsv0p", "10.0.0.2/24", &err) == 0, "address inside: %s", msg(err));
	ok(lsh_nl_addr_add(in, "lsv0p", "fd00::2/64", &err) == 0, "IPv6 address inside: %s", msg(err));
	struct afind af = { lsh_nl_link_index(in, "lsv0p", NULL), "fd00::2", 64, 0 };
	lsh_nl_addr_dump(in, AF_INET6, find_addr, &af, NULL);
	ok(af.found, "the IPv6 address is in the dump");
	af = (struct afind){ lsh_nl_link_index(nl, "lsv0", NULL), "10.0.0.1", 24, 0 };
	lsh_nl_addr_dump(nl, 0, find_addr, &af, NULL);
	ok(af.found, "the IPv4 address is in the dump");

	ok(lsh_nl_route_add(in, "default", "10.0.0.1", NULL, &err) == 0, "default route via: %s", msg(err));
	struct rfind rf = { 0, "" };
	lsh_nl_route_dump(in, AF_INET, find_default, &rf, NULL);
	ok(rf.defaults == 1 && strcmp(rf.gw, "10.0.0.1") == 0, "the default route is dumped (%s)", rf.gw);
	r = lsh_nl_route_add(in, "default", "10.0.0.1", NULL, &err);
	ok(r == -EEXIST && strstr(msg(err), "add route default via 10.0.0.1"), "duplicate route: %s", msg(err));
	lsh_err_free(err), err = NULL;
	ok(lsh_nl_route_add(in, "10.9.0.0/16", NULL, "lsv0p", &err) == 0, "route on a link: %s", msg(err));
	ok(lsh_nl_route_del(in, "default", "10.0.0.1", NULL, &err) == 0, "route delete: %s", msg(err));
	rf.defaults = 0;
	lsh_nl_route_dump(in, AF_INET, find_default, &rf, NULL);
	ok(rf.defaults == 0, "no default route left");

	struct lsh_nl_link_spec br = { .name = "lsbr0", .kind = "bridge", .up = 1 };
	ok(lsh_nl_link_add(nl, &br, &err) == 0, "bridge: %s", msg(err));
	struct lsh_nl_link_spec v2 = { .name = "lsv1", .kind = "veth", .peer = "lsv1p" };
	ok(lsh_nl_link_add(nl, &v2, &err) == 0, "veth with both ends here: %s", msg(err));
	struct lsh_nl_link_change ch = { .what = LSH_NL_SET_MASTER | LSH_NL_SET_MTU | LSH_NL_SET_MAC,
					 .master = "lsbr0", .mtu = 1300, .mac = "02:00:00:00:00:01" };
	ok(lsh_nl_link_set(nl, "lsv1", &ch, &err) == 0, "master, mtu, mac: %s", msg(err));
	int bri = lsh_nl_link_index(nl, "lsbr0", NULL);
	ok(has_link(nl, "lsv1", &li) == 1 && li.master == bri && li.mtu == 1300 &&
	   strcmp(li.mac, "02:00:00:00:00:01") == 0, "the dump shows them");
	ch = (struct lsh_nl_link_change){ .what = LSH_NL_SET_NAME, .name = "lsv9" };
	ok(lsh_nl_link_set(nl, "lsv1", &ch, &err) == 0, "rename: %s", msg(err));
	ok(has_link(nl, "lsv9", NULL) == 1 && has_link(nl, "lsv1", NULL) == 0, "renamed");
	ch = (struct lsh_nl_link_change){ .what = LSH_NL_SET_NETNS, .netns = { LSH_NL_NS_FD, nsfd } };
	ok(lsh_nl_link_set(nl, "lsv1p", &ch, &err) == 0, "move into the netns: %s", msg(err));
	ok(has_link(in, "lsv1p", NULL) == 1 && has_link(nl, "lsv1p", NULL) == 0, "moved");
	struct lsh_nl_link_spec dummy = { .name = "lsd0", .kind = "dummy" };
	r = lsh_nl_link_add(nl, &dummy, &err);
	if (r == -EOPNOTSUPP)
		skip("this kernel has no dummy links: %s", msg(err));
	else
		ok(r == 0 && has_link(nl, "lsd0", NULL) == 1, "dummy: %s", msg(err));
	lsh_err_free(err), err = NULL;
	struct lsh_nl_link_spec mv = { .name = "lsm0", .kind = "macvlan", .parent = "lsv0", .mode = "bridge" };
	r = lsh_nl_link_add(nl, &mv, &err);
	if (r == -EOPNOTSUPP)
		skip("this kernel has no macvlan links: %s", msg(err));
	else
		ok(r == 0 && has_link(nl, "lsm0", NULL) == 1, "macvlan: %s", msg(err));
	lsh_err_free(err), err = NULL;
	struct lsh_nl_link_spec bad = { .name = "lsx", .kind = "nosuchkind" };
	r = lsh_nl_link_add(nl, &bad, &err);
	ok(r == -EINVAL && strstr(msg(err), "unknown kind"), "unknown kind: %s", msg(err));
	lsh_err_free(err), err = NULL;

	/* By pidfd: a child waiting in a network namespace of its own. */
	int pfd[2], unshared[2];
	if (pipe(pfd) == 0 && pipe(unshared) == 0) {
		pid_t child = fork();
		if (child == 0) {
			char c;
			close(pfd[1]);
			close(unshared[0]);
			if (unshare(CLONE_NEWNET) < 0)
				_exit(1);
			if (write(unshared[1], "u", 1) != 1) /* in its own netns now */
				_exit(1);
			if (read(pfd[0], &c, 1) < 0) /* the parent's close ends the wait */
				_exit(1);
			_exit(0);
		}
		close(pfd[0]);
		close(unshared[1]);
		struct lsh_nl *cn = NULL;
		int pidfd = lsh_proc_pidfd(child, &err);
		char byte;
		ok(read(unshared[0], &byte, 1) == 1, "the child is in a network namespace of its own");
		close(unshared[0]);
		ok(pidfd >= 0 && lsh_nl_open(&cn, (struct lsh_nl_ns){ LSH_NL_NS_PIDFD, pidfd }, &err) == 0,
		   "open by pidfd: %s", msg(err));
		struct lsh_nl_link_spec vp = { .name = "lsv2", .kind = "veth", .peer = "lsv2p",
					       .peer_ns = { LSH_NL_NS_PIDFD, pidfd } };
		ok(lsh_nl_link_add(nl, &vp, &err) == 0, "veth with the peer born by pidfd: %s", msg(err));
		ok(cn && has_link(cn, "lsv2p", NULL) == 1, "the peer is in the child's namespace");
		struct lsh_nl_link_spec v3 = { .name = "lsv3", .kind = "veth", .peer = "lsv3p" };
		lsh_nl_link_add(nl, &v3, NULL);
		ch = (struct lsh_nl_link_change){ .what = LSH_NL_SET_NETNS, .netns = { LSH_NL_NS_PIDFD, pidfd } };
		ok(lsh_nl_link_set(nl, "lsv3p", &ch, &err) == 0, "move by pidfd: %s", msg(err));
		ok(cn && has_link(cn, "lsv3p", NULL) == 1 && has_link(nl, "lsv3p", NULL) == 0, "moved by pidfd");
		lsh_nl_close(cn);
		close(pfd[1]);
		int status;
		if (pidfd >= 0) {
			lsh_proc_wait(pidfd, 0, &status, NULL);
			close(pidfd);
		}
	}

	ok(lsh_nl_link_del(nl, "lsv0", &err) == 0, "delete the veth: %s", msg(err));
	ok(has_link(nl, "lsv0", NULL) == 0 && has_link(in, "lsv0p", NULL) == 0, "both ends are gone");
	r = lsh_nl_link_del(nl, "lsv0", &err);
	ok(r == -ENODEV && strstr(msg(err), "delete link lsv0"), "deleting again: %s", msg(err));
	lsh_err_free(err), err = NULL;

	lsh_nl_close(in);
	lsh_nl_close(bypid);
	lsh_nl_close(nl);
	close(nsfd);
	ok(lsh_netns_delete(dir, "lsn1", &err) == 0, "netns delete: %s", msg(err));
	ok(lsh_netns_list(dir, &names, &err) == 0, "the list is empty");
	lsh_netns_list_free(names);
	r = lsh_netns_delete(dir, "lsn1", &err);
	ok(r == -ENOENT, "deleting again: %s", msg(err));
	lsh_err_free(err);
	umount2(dir, MNT_DETACH);
	rmdir(dir);
	return done_testing();
}
