/* The API's timestamps (src/remote/api.c api_parse_time): any text parses to something or 0 without
 * a crash or undefined behaviour, and a well-formed stamp parses to its exact second.
 *
 * Input: text tried as it is; its first bytes also pick a second between the years 1000 and
 * 9999 and a suffix (none, "Z", a fraction, a zone offset) for the round trip.
 */
#include "api.h"
#include "fuzz.h"

#include <time.h>

#define YEAR_1000 (-30610224000LL) /* 1000-01-01T00:00:00Z */
#define YEAR_9999 253402300799LL   /* 9999-12-31T23:59:59Z */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_string(data, size), stamp[96];
	uint64_t seed = 0;
	int64_t t;
	int off, zone;
	struct tm tm;
	size_t len;

	(void)api_parse_time(text);
	free(text);
	for (size_t i = 0; i < size && i < 8; i++)
		seed = seed << 8 | data[i];
	t = YEAR_1000 + (int64_t)(seed % (uint64_t)(YEAR_9999 - YEAR_1000 + 1));
	zone = size > 8 ? data[8] % 4 : 0;
	off = size > 9 ? (data[9] % 24) * 3600 + (size > 10 ? data[10] % 60 : 0) * 60 : 0;
	if (!gmtime_r(&(time_t){(time_t)t}, &tm))
		return 0;
	len = strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	FUZZ_CHECK(len == 19);
	switch (zone) {
	case 0:
		break;
	case 1:
		snprintf(stamp + len, sizeof(stamp) - len, "Z");
		break;
	case 2:
		snprintf(stamp + len, sizeof(stamp) - len, ".%06u", (unsigned)(seed % 1000000));
		break;
	default:
		/* "+02:00" says the wall clock was two hours ahead of UTC. */
		snprintf(stamp + len, sizeof(stamp) - len, "%c%02d:%02d", seed & 1 ? '+' : '-',
			 off / 3600, off % 3600 / 60);
		t = seed & 1 ? t - off : t + off;
	}
	FUZZ_CHECK((int64_t)api_parse_time(stamp) == t);
	return 0;
}
