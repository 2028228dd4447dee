/* Open a global kernel knob under /proc/sys for writing (nothing is written). */
#include "probe.h"
int main(void)
{
	const char *p = "/proc/sys/vm/swappiness";
	int fd = open(p, O_WRONLY);
	if (fd < 0) contained("open %s for writing: %s", p, why());
	escaped("%s is writable", p);
}
