/* Attach a host SysV shared memory segment by id. */
#include "probe.h"
#include <sys/shm.h>
int main(int argc, char **argv)
{
	if (argc != 2) usage("host_sysv_shm SHMID");
	struct shmid_ds ds;
	int id = atoi(argv[1]);
	if (shmctl(id, IPC_STAT, &ds) < 0) contained("shmctl(%d, IPC_STAT): %s", id, why());
	escaped("segment %d is visible (%zu bytes)", id, (size_t)ds.shm_segsz);
}
