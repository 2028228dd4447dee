/* The error record: set, wrap, free. */
#include <errno.h>
#include <stdlib.h>

#include "tap.h"
#include "lunshare.h"

int main(void)
{
	struct lsh_err *err = NULL;

	ok(lsh_err_set(&err, ENOENT, "open %s", "/x") == -ENOENT, "set returns -errno");
	ok(err && err->code == ENOENT, "record keeps the errno");
	ok(err && strcmp(err->msg, "open /x: No such file or directory") == 0, "message: %s", err ? err->msg : "");
	ok(lsh_err_wrap(&err, "step %d", 3) == -ENOENT, "wrap returns -errno");
	ok(err && strcmp(err->msg, "step 3: open /x: No such file or directory") == 0, "wrapped: %s",
	   err ? err->msg : "");
	lsh_err_free(err);
	err = NULL;
	ok(lsh_err_msg(&err, EINVAL, "bad %s", "thing") == -EINVAL && strcmp(err->msg, "bad thing") == 0,
	   "msg without strerror");
	lsh_err_free(err);
	lsh_err_free(NULL);
	ok(lsh_err_set(NULL, EPERM, "x") == -EPERM, "a NULL err pointer is allowed");
	return done_testing();
}
