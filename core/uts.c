/* The UTS namespace: host and domain names. */
#include "internal.h"

#include <string.h>

int lsh_uts_set_hostname(const char *name, struct lsh_err **err)
{
	if (sethostname(name, strlen(name)) < 0)
		return lsh_err_set(err, errno, "sethostname %s", name);
	return 0;
}

int lsh_uts_set_domainname(const char *name, struct lsh_err **err)
{
	if (setdomainname(name, strlen(name)) < 0)
		return lsh_err_set(err, errno, "setdomainname %s", name);
	return 0;
}
