/* Create a file in a directory the sandbox sees read-only (a ro bind of the host's). */
#include "probe.h"
int main(int argc, char **argv)
{
	if (argc != 2) usage("write_read_only DIR");
	char path[4096];
	snprintf(path, sizeof path, "%s/lsh-probe-%d", argv[1], (int)getpid());
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0) contained("create %s: %s", path, why());
	close(fd);
	unlink(path);
	escaped("created %s", path);
}
