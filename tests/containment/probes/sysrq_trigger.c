/* Open /proc/sysrq-trigger for writing (nothing is written). */
#include "probe.h"
int main(void)
{
	int fd = open("/proc/sysrq-trigger", O_WRONLY);
	if (fd < 0 && errno == ENOENT && access("/proc/sys/kernel/sysrq", F_OK) != 0) {
		printf("skip: this kernel has no magic SysRq (no /proc/sysrq-trigger)\n");
		return 77;
	}
	if (fd < 0) contained("open /proc/sysrq-trigger: %s", why());
	escaped("/proc/sysrq-trigger is writable");
}
