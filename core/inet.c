/* TCP sockets for `lunshare test`: a listener on the host that a check's sandbox must not
 * reach. The kernel completes connections into the backlog without accept(), so the
 * listener works while the caller waits for the sandbox. */
#include "internal.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

int lsh_inet_listen(const char *addr, int *port, struct lsh_err **err)
{
	struct sockaddr_storage ss;
	socklen_t len;
	memset(&ss, 0, sizeof ss);
	struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, addr, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)*port);
		len = sizeof *v4;
	} else if (inet_pton(AF_INET6, addr, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)*port);
		len = sizeof *v6;
	} else {
		return lsh_err_msg(err, EINVAL, "listen: \"%s\" is not an IPv4 or IPv6 address", addr);
	}
	if (*port < 0 || *port > 65535)
		return lsh_err_msg(err, EINVAL, "listen: port %d is not from 0 to 65535", *port);
	_cleanup_close_ int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return lsh_err_set(err, errno, "listen on %s: socket", addr);
	if (bind(fd, (struct sockaddr *)&ss, len) < 0)
		return lsh_err_set(err, errno, "listen on %s port %d: bind", addr, *port);
	if (listen(fd, 16) < 0)
		return lsh_err_set(err, errno, "listen on %s", addr);
	len = sizeof ss;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return lsh_err_set(err, errno, "listen on %s: getsockname", addr);
	*port = ntohs(ss.ss_family == AF_INET ? v4->sin_port : v6->sin6_port);
	return take_fd(&fd);
}
