#include "check.h"

#include <stdio.h>
#include <string.h>

static int passed, failed;

void check_record(bool ok, const char *expr, const char *file, int line)
{
	if (ok) {
		passed++;
		return;
	}
	failed++;
	fprintf(stderr, "%s:%d: check failed: %s\n", file, line, expr);
}

void check_str(const char *got, const char *want, const char *expr, const char *file, int line)
{
	bool ok = got && want ? strcmp(got, want) == 0 : got == want;

	check_record(ok, expr, file, line);
	if (!ok)
		fprintf(stderr, "    got  \"%s\"\n    want \"%s\"\n", got ? got : "(null)",
			want ? want : "(null)");
}

int check_summary(void)
{
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
