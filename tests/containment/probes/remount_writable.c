/* Remount a read-only mount writable (a bind remount without MS_RDONLY). */
#include "probe.h"
#include <sys/mount.h>
int main(int argc, char **argv)
{
	if (argc != 2) usage("remount_writable PATH");
	if (mount(NULL, argv[1], NULL, MS_REMOUNT | MS_BIND, NULL) < 0)
		contained("remount %s rw: %s", argv[1], why());
	escaped("remounted %s writable", argv[1]);
}
