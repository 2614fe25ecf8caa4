/* The token endpoint's answers (src/remote/oauth.c oauth_parse_answer): POST /oauth/token after a
 * login or a refresh. The expiries are seconds from now or dates; any number may come.
 *
 * Input: the answer's body.
 */
#include "fuzz.h"
#include "http.h"
#include "oauth.h"

#include <errno.h>
#include <time.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_resp r = {.status = 200, .content_len = -1, .full_len = -1};
	struct token_file got;
	char why[512] = "";
	time_t before = time(NULL);
	int result;

	r.body = fuzz_string(data, size); /* http.c's bodies end in a NUL too */
	r.len = size;
	result = oauth_parse_answer(&r, &got, why, sizeof(why));
	if (result) {
		FUZZ_CHECK(result == -EIO && why[0]);
		FUZZ_CHECK(!got.access_token && !got.refresh_token && !got.scope);
	} else {
		FUZZ_CHECK(got.access_token && got.access_token[0]);
		/* An expiry is unknown (0) or a time; never one before the answer came. */
		FUZZ_CHECK(got.expires_at == 0 || got.expires_at >= before);
		FUZZ_CHECK(got.refresh_expires_at >= 0);
		token_file_release(&got);
	}
	free(r.body);
	return 0;
}
