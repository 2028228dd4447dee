/* Make a nested user namespace (its capabilities reach more kernel code). */
#include "probe.h"
#include <sched.h>
int main(void)
{
	if (unshare(CLONE_NEWUSER) < 0) contained("unshare(CLONE_NEWUSER): %s", why());
	escaped("made a user namespace");
}
