/* Unmount a mount of the sandbox's view to reveal what is under it. */
#include "probe.h"
#include <sys/mount.h>
int main(int argc, char **argv)
{
	if (argc != 2) usage("umount_reveal PATH");
	if (umount2(argv[1], MNT_DETACH) < 0) contained("umount %s: %s", argv[1], why());
	escaped("unmounted %s", argv[1]);
}
