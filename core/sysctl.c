/* Kernel parameters under /proc/sys. The network ones (net.*) belong to the network
 * namespace of the process that opens the file, so a sandbox with its own network
 * namespace sets its own copy through the /proc it can see, whichever that is. */
#include "internal.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>

int lsh_sysctl_write(const char *name, const char *value, struct lsh_err **err)
{
	char path[256];
	if (name == NULL || strstr(name, "..") || name[0] == '/' || name[0] == '.')
		return lsh_err_msg(err, EINVAL, "sysctl: bad name \"%s\"", name ? name : "");
	int n = snprintf(path, sizeof path, "/proc/sys/%s", name);
	if (n < 0 || (size_t)n >= sizeof path)
		return lsh_err_msg(err, EINVAL, "sysctl: name too long");
	for (char *p = path + 10; *p; p++)
		if (*p == '.')
			*p = '/';
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return lsh_err_set(err, errno, "sysctl %s: open %s", name, path);
	if (write(fd, value, strlen(value)) < 0)
		return lsh_err_set(err, errno, "sysctl %s = %s", name, value);
	return 0;
}
