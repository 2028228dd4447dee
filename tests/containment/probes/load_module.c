/* Load a kernel module. finit_module on a bad fd: EPERM means refused before anything
 * else was looked at; EBADF means the permission check passed. Nothing is ever loaded. */
#include "probe.h"
int main(void)
{
	long r = syscall(SYS_finit_module, -1, "", 0);
	if (r < 0 && (errno == EPERM || errno == EACCES))
		contained("finit_module: %s", why());
	if (r < 0 && errno == ENOSYS) {
		printf("skip: this kernel has no module support (finit_module: ENOSYS)\n");
		return 77;
	}
	escaped("finit_module passed the permission check (%s)", r < 0 ? why() : "loaded");
}
