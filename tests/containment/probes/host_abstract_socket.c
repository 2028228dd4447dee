/* Connect to a host abstract unix socket (they belong to the network namespace). */
#include "probe.h"
#include <sys/socket.h>
#include <sys/un.h>
int main(int argc, char **argv)
{
	if (argc != 2) usage("host_abstract_socket NAME");
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	size_t n = strlen(argv[1]);
	if (n + 1 > sizeof a.sun_path) usage("host_abstract_socket NAME (shorter)");
	memcpy(a.sun_path + 1, argv[1], n);
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&a, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n)) < 0)
		contained("connect @%s: %s", argv[1], why());
	escaped("connected to the host's @%s", argv[1]);
}
