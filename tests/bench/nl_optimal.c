/* The fewest netlink requests that bring up (and take down) a chain of N hosts:
 * here — h1 — h2 — … — hN, each hop a veth pair with a /30 on each end. The baseline the
 * benchmark compares lunshare with; not part of the default build:
 *
 *   cc -O2 -o nl_optimal tests/bench/nl_optimal.c $(pkg-config --cflags --libs libmnl) -lpthread
 *   nl_optimal up N | nl_optimal down N          (names lsc1…lsbN in /run/netns)
 *
 * Per hop: one RTM_NEWLINK making the pair with the peer born in the next namespace and
 * both ifindexes chosen by us (so no lookups), one RTM_NEWADDR and one RTM_NEWLINK (up) per
 * end. Per host: an unshare in a thread and a bind mount. Down deletes the namespaces; their
 * links go with them. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

static char buf[8192];
static unsigned seq = 1;

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void ack(struct mnl_socket *sk, struct nlmsghdr *nlh)
{
	char rb[8192];
	if (mnl_socket_sendto(sk, nlh, nlh->nlmsg_len) < 0)
		die("send");
	ssize_t n = mnl_socket_recvfrom(sk, rb, sizeof rb);
	if (n < 0 || mnl_cb_run(rb, (size_t)n, nlh->nlmsg_seq, 0, NULL, NULL) < 0)
		die("netlink");
}

static struct mnl_socket *sock_from(int fd)
{
	struct mnl_socket *sk = mnl_socket_fdopen(fd);
	if (!sk || mnl_socket_bind(sk, 0, MNL_SOCKET_AUTOPID) < 0)
		die("bind");
	return sk;
}

struct mk {
	const char *path;
	int sock;
};

/* Makes a netns pinned at path and returns a netlink socket inside it, in one thread. */
static void *mk_thread(void *p)
{
	struct mk *m = p;
	if (unshare(CLONE_NEWNET) < 0)
		die("unshare");
	if (mount("/proc/thread-self/ns/net", m->path, "none", MS_BIND, NULL) < 0)
		die("bind mount");
	m->sock = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	return NULL;
}

static struct mnl_socket *make_ns(const char *path)
{
	int fd = open(path, O_RDONLY | O_CREAT | O_EXCL, 0);
	if (fd < 0)
		die(path);
	close(fd);
	struct mk m = { path, -1 };
	pthread_t t;
	pthread_create(&t, NULL, mk_thread, &m);
	pthread_join(t, NULL);
	return sock_from(m.sock);
}

static struct nlmsghdr *req(uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	nlh->nlmsg_seq = seq++;
	return nlh;
}

static void veth(struct mnl_socket *sk, const char *a, int ia, const char *b, int ib, int nsfd)
{
	struct nlmsghdr *nlh = req(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof *ifm);
	ifm->ifi_index = ia;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, a);
	struct nlattr *li = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	struct nlattr *d = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	struct nlattr *p = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	struct ifinfomsg *pm = mnl_nlmsg_get_payload_tail(nlh);
	memset(pm, 0, sizeof *pm);
	pm->ifi_index = ib;
	nlh->nlmsg_len += MNL_ALIGN(sizeof *pm);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, b);
	mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)nsfd);
	mnl_attr_nest_end(nlh, p);
	mnl_attr_nest_end(nlh, d);
	mnl_attr_nest_end(nlh, li);
	ack(sk, nlh);
}

static void up_addr(struct mnl_socket *sk, int index, const char *ip)
{
	struct nlmsghdr *nlh = req(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof *ifa);
	struct in_addr a;
	inet_pton(AF_INET, ip, &a);
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = 30;
	ifa->ifa_index = (unsigned)index;
	mnl_attr_put(nlh, IFA_LOCAL, 4, &a);
	mnl_attr_put(nlh, IFA_ADDRESS, 4, &a);
	ack(sk, nlh);
	nlh = req(RTM_NEWLINK, 0);
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof *ifm);
	ifm->ifi_index = index;
	ifm->ifi_change = IFF_UP;
	ifm->ifi_flags = IFF_UP;
	ack(sk, nlh);
}

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	int n = atoi(argv[2]);
	char path[64], a[16], b[16], ipa[32], ipb[32];
	if (strcmp(argv[1], "down") == 0) {
		for (int i = 1; i <= n; i++) {
			snprintf(path, sizeof path, "/run/netns/lsc%d", i);
			umount2(path, MNT_DETACH);
			unlink(path);
		}
		return 0;
	}
	mkdir("/run/netns", 0755);
	if (mount("", "/run/netns", "none", MS_SHARED | MS_REC, NULL) < 0) {
		mount("/run/netns", "/run/netns", "none", MS_BIND | MS_REC, NULL);
		mount("", "/run/netns", "none", MS_SHARED | MS_REC, NULL);
	}
	struct mnl_socket *prev = sock_from(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
	for (int i = 1; i <= n; i++) {
		snprintf(path, sizeof path, "/run/netns/lsc%d", i);
		struct mnl_socket *cur = make_ns(path);
		int nsfd = open(path, O_RDONLY | O_CLOEXEC);
		snprintf(a, sizeof a, "lsa%d", i);
		snprintf(b, sizeof b, "lsb%d", i);
		snprintf(ipa, sizeof ipa, "10.%d.%d.1", 100 + i / 250, i % 250);
		snprintf(ipb, sizeof ipb, "10.%d.%d.2", 100 + i / 250, i % 250);
		/* ifindex 1 is lo; 1000 + i is free on both sides. */
		veth(prev, a, 1000 + i, b, 2000 + i, nsfd);
		up_addr(prev, 1000 + i, ipa);
		up_addr(cur, 2000 + i, ipb);
		close(nsfd);
		mnl_socket_close(prev);
		prev = cur;
	}
	mnl_socket_close(prev);
	return 0;
}
