/* Which addresses the egress gate counts as private (the host's own services and its
 * networks), at each range's edges, in both families and mapped; and network membership. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "tap.h"
#include "internal.h"

static struct sockaddr_storage parse(const char *text)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof ss);
	struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, text, &v4->sin_addr) == 1)
		v4->sin_family = AF_INET;
	else if (inet_pton(AF_INET6, text, &v6->sin6_addr) == 1)
		v6->sin6_family = AF_INET6;
	return ss;
}

static void private(const char *text, int want)
{
	struct sockaddr_storage ss = parse(text);
	ok(lsh_addr_private((struct sockaddr *)&ss) == want, "%s is %s", text, want ? "private" : "public");
}

static void member(const char *net, const char *text, int want)
{
	struct sockaddr_storage ss = parse(text);
	ok(lsh_addr_in_net(net, (struct sockaddr *)&ss) == want, "%s in %s: %d", text, net, want);
}

int main(void)
{
	static const char *const priv[] = {
		"127.0.0.1", "127.255.255.254", "10.0.0.0", "10.255.255.255", "172.16.0.1", "172.31.255.255",
		"192.168.0.1", "192.168.255.255", "169.254.169.254", "169.254.0.1", "0.0.0.0", "0.1.2.3",
		"::1", "::", "fc00::1", "fd12:3456::1", "fe80::1", "febf::1", "::ffff:127.0.0.1", "::ffff:10.1.2.3",
		"::ffff:169.254.169.254", "100.64.0.1", "100.127.255.255", "198.18.0.1", "198.19.255.255",
		"224.0.0.1", "239.255.255.255", "240.0.0.1", "255.255.255.255", "64:ff9b::7f00:1",
		"64:ff9b::a00:1", "::127.0.0.1", "::2", "ff02::1",
	};
	static const char *const pub[] = {
		"1.1.1.1", "9.255.255.255", "11.0.0.0", "126.255.255.255", "128.0.0.0", "172.15.255.255",
		"172.32.0.0", "192.167.255.255", "192.169.0.0", "169.253.255.255", "169.255.0.0", "192.0.2.2",
		"2001:db8::1", "fbff::1", "fe00::1", "fec0::1", "::ffff:192.0.2.2", "100.63.255.255",
		"100.128.0.0", "198.17.255.255", "198.20.0.0", "223.255.255.255", "64:ff9b::101:101",
		"64:ff9c::7f00:1",
	};
	for (size_t i = 0; i < sizeof priv / sizeof *priv; i++)
		private(priv[i], 1);
	for (size_t i = 0; i < sizeof pub / sizeof *pub; i++)
		private(pub[i], 0);
	struct sockaddr_storage unix_ = { .ss_family = AF_UNIX };
	ok(lsh_addr_private((struct sockaddr *)&unix_) == 1, "another family counts as private");

	member("127.0.0.3", "127.0.0.3", 1);
	member("127.0.0.3/32", "127.0.0.2", 0);
	member("10.0.0.0/8", "10.200.1.1", 1);
	member("10.0.0.0/8", "11.0.0.1", 0);
	member("172.16.0.0/12", "172.31.0.1", 1);
	member("172.16.0.0/12", "172.32.0.1", 0);
	member("0.0.0.0/0", "8.8.8.8", 1);
	member("fd00::/8", "fd12::1", 1);
	member("fd00::/8", "fc12::1", 0);
	member("::1", "::1", 1);
	member("10.0.0.0/8", "fd00::1", -1); /* another family's network */
	member("fd00::/8", "10.0.0.1", -1);
	member("10.0.0.0/33", "10.0.0.1", -1);
	member("10.0.0.0/8x", "10.0.0.1", -1);
	member("10.0.0.0/", "10.0.0.1", -1);
	member("intranet.test", "10.0.0.1", -1);
	done_testing();
}
