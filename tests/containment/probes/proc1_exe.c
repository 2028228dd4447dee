/* Reopen pid 1's executable through /proc/1/exe (runc CVE-2019-5736): with lunshare's
 * reaper as pid 1 that is the host's lunshare binary. */
#include "probe.h"
int main(void)
{
	int fd = open("/proc/1/exe", O_RDONLY);
	if (fd < 0) contained("open /proc/1/exe: %s", why());
	char target[512] = "";
	if (readlink("/proc/1/exe", target, sizeof target - 1) < 0) snprintf(target, sizeof target, "?");
	escaped("opened /proc/1/exe (%s)", target);
}
