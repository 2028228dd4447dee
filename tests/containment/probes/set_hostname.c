/* Set the host's hostname (to the name it has: a permission check with no change). */
#include "probe.h"
#include <sys/stat.h>
int main(int argc, char **argv)
{
	if (argc != 2) usage("set_hostname HOST_UTS_INODE");
	char name[256];
	struct stat st;
	if (gethostname(name, sizeof name) < 0) contained("gethostname: %s", why());
	if (stat("/proc/self/ns/uts", &st) == 0 && (unsigned long)st.st_ino != strtoul(argv[1], NULL, 10))
		contained("a uts namespace of its own (inode %lu)", (unsigned long)st.st_ino);
	if (sethostname(name, strlen(name)) < 0) contained("sethostname: %s", why());
	escaped("set the host's hostname");
}
