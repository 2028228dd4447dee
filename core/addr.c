/* Internet addresses as policy sees them: which are loopback, link-local, private or
 * unspecified (where a name that is allowed must not lead a sandbox: the host's own services
 * and its networks), and whether one is in a network written "ADDRESS[/BITS]". */
#include "internal.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

/* An IPv4 address (host order) that is no public host: 0/8, 127/8, 10/8, 172.16/12,
 * 192.168/16, 169.254/16, the carrier-grade NAT 100.64/10 (VPNs and cloud networks use it),
 * the benchmarking 198.18/15, multicast 224/4 and the reserved 240/4 with broadcast. */
static int v4_private(uint32_t v)
{
	return (v >> 24) == 0 || (v >> 24) == 127 || (v >> 24) == 10 || (v & 0xfff00000) == 0xac100000 ||
	       (v & 0xffff0000) == 0xc0a80000 || (v & 0xffff0000) == 0xa9fe0000 || (v & 0xffc00000) == 0x64400000 ||
	       (v & 0xfffe0000) == 0xc6120000 || (v >> 28) >= 0xe;
}

static uint32_t v4_at(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

int lsh_addr_private(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		const uint8_t *b = a->s6_addr;
		/* A mapped address is its IPv4 one, read as bytes: a sockaddr_in made here and
		 * passed as a sockaddr is an aliasing violation the optimizer acts on. */
		static const uint8_t nat64[12] = { 0x00, 0x64, 0xff, 0x9b };
		/* Mapped (::ffff:a.b.c.d) and the NAT64 prefix 64:ff9b::/96 lead to their IPv4
		 * address; the IPv4-compatible ::/96 (deprecated) and multicast ff00::/8 lead to no
		 * public host. */
		if (IN6_IS_ADDR_V4MAPPED(a) || memcmp(b, nat64, 12) == 0)
			return v4_private(v4_at(b + 12));
		if (IN6_IS_ADDR_V4COMPAT(a) || IN6_IS_ADDR_LOOPBACK(a) || IN6_IS_ADDR_UNSPECIFIED(a) || b[0] == 0xff)
			return 1;
		return (b[0] & 0xfe) == 0xfc || (b[0] == 0xfe && (b[1] & 0xc0) == 0x80);
	}
	if (sa->sa_family != AF_INET)
		return 1;
	return v4_private(ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr));
}

int lsh_addr_in_net(const char *net, const struct sockaddr *sa)
{
	char text[64];
	uint8_t n[16];
	int family = sa->sa_family;
	const uint8_t *a = family == AF_INET ? (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr
					     : ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
	const char *slash = strchr(net, '/');
	size_t len = slash ? (size_t)(slash - net) : strlen(net);
	int max = family == AF_INET ? 32 : 128;
	char *end = NULL;
	long bits = slash ? strtol(slash + 1, &end, 10) : max;
	if ((family != AF_INET && family != AF_INET6) || len >= sizeof text || bits < 0 || bits > max ||
	    (slash && (end == slash + 1 || *end != '\0')))
		return -1;
	memcpy(text, net, len);
	text[len] = '\0';
	if (inet_pton(family, text, n) != 1)
		return -1;
	for (int i = 0; i < bits; i++)
		if (((a[i / 8] ^ n[i / 8]) >> (7 - i % 8)) & 1)
			return 0;
	return 1;
}
