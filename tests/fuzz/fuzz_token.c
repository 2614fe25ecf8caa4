/* Token files (src/remote/token.c token_load): a JSON object as `pinfs login` writes it, the bare
 * token on a line, or anything else a user may have put there.
 *
 * Input: the file's bytes, written to a private temporary file that token_load reads.
 */
#include "fuzz.h"
#include "token.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static char path[64];

static void remove_file(void)
{
	unlink(path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int fd;

	(void)argc, (void)argv;
	snprintf(path, sizeof(path), "/tmp/pinfs-fuzz-token-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		abort();
	close(fd);
	atexit(remove_file);
	unsetenv("PINFS_ACCESS_TOKEN");
	return 0;
}

static bool trimmed(const char *s)
{
	size_t len;

	if (!s)
		return true;
	len = strlen(s);
	return len > 0 && !strchr(" \t\r\n", s[0]) && !strchr(" \t\r\n", s[len - 1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct token_file t;
	char why[512] = "";
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC), result;

	FUZZ_CHECK(fd >= 0 && fchmod(fd, 0600) == 0);
	FUZZ_CHECK(write(fd, data, size) == (ssize_t)size);
	close(fd);
	result = token_load(path, &t, why, sizeof(why));
	if (result) {
		/* Refused with one line saying why, and nothing left behind. */
		FUZZ_CHECK(result == -EINVAL && why[0] && !strchr(why, '\n'));
		FUZZ_CHECK(!t.access_token && !t.refresh_token && !t.path);
		return 0;
	}
	FUZZ_CHECK(t.access_token && t.access_token[0] && t.path && strcmp(t.path, path) == 0);
	FUZZ_CHECK(trimmed(t.access_token) && trimmed(t.refresh_token) && trimmed(t.scope));
	FUZZ_CHECK(trimmed(t.client_id) && trimmed(t.client_secret) && trimmed(t.api_url));
	FUZZ_CHECK(t.expires_at >= 0 && t.refresh_expires_at >= 0);
	token_file_release(&t);
	FUZZ_CHECK(!t.access_token && !t.path);
	/* Group- or world-readable, the same file is refused. */
	FUZZ_CHECK(chmod(path, 0640) == 0);
	FUZZ_CHECK(token_load(path, &t, why, sizeof(why)) == -EPERM && !t.access_token);
	return 0;
}
