/* Connect to a listener on the host's loopback. */
#include "probe.h"
#include <arpa/inet.h>
#include <sys/socket.h>
int main(int argc, char **argv)
{
	if (argc != 2) usage("host_loopback PORT");
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1])) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) < 0)
		contained("connect 127.0.0.1:%s: %s", argv[1], why());
	escaped("connected to the host's 127.0.0.1:%s", argv[1]);
}
