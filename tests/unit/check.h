/* A minimal test harness: CHECK records a result, check_summary prints
 * "N passed, N failed" and gives the exit status. */
#ifndef PINFS_CHECK_H
#define PINFS_CHECK_H

#include <stdbool.h>

void check_record(bool ok, const char *expr, const char *file, int line);
void check_str(const char *got, const char *want, const char *expr, const char *file, int line);
int check_summary(void);

#define CHECK(e)	     check_record((e), #e, __FILE__, __LINE__)
#define CHECK_STR(got, want) check_str((got), (want), #got, __FILE__, __LINE__)

#endif
