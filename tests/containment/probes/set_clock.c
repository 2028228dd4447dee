/* Set the host's clock settings: the kernel timezone, to the value it has (no change). */
#include "probe.h"
#include <sys/time.h>
int main(void)
{
	struct timeval tv;
	struct timezone tz;
	if (syscall(SYS_gettimeofday, &tv, &tz) < 0) contained("gettimeofday: %s", why());
	/* The raw call: glibc's settimeofday refuses a NULL time with a timezone. */
	if (syscall(SYS_settimeofday, NULL, &tz) < 0) contained("settimeofday: %s", why());
	escaped("settimeofday succeeded");
}
