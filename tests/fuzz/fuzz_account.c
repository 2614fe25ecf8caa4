/* The account object and every other API answer shown as it came (src/model/meta.c meta_pretty):
 * me.json, people's and topics' <name>.json. The pretty text must parse back to the very
 * JSON cJSON would have printed, member for member and in order.
 *
 * Input: the answer's JSON text.
 */
#include "fuzz.h"
#include "meta.h"

/* Same types, keys, values and order: stricter than cJSON_Compare, which looks members up
 * by key and so cannot tell an object with a repeated key from itself. */
static bool equal(const cJSON *a, const cJSON *b)
{
	if ((a->type & 0xff) != (b->type & 0xff))
		return false;
	if (!a->string != !b->string || (a->string && strcmp(a->string, b->string) != 0))
		return false;
	if (cJSON_IsString(a) && strcmp(a->valuestring, b->valuestring) != 0)
		return false;
	if (cJSON_IsNumber(a) && a->valuedouble != b->valuedouble)
		return false;
	for (a = a->child, b = b->child; a && b; a = a->next, b = b->next)
		if (!equal(a, b))
			return false;
	return !a && !b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *j = cJSON_ParseWithLength((const char *)data, size), *ref, *back;
	char *flat, *pretty;

	if (!j)
		return 0;
	pretty = meta_pretty(j);
	flat = cJSON_PrintUnformatted(j);
	FUZZ_CHECK(pretty && flat);
	FUZZ_CHECK(pretty[0] && pretty[strlen(pretty) - 1] == '\n');
	ref = cJSON_Parse(flat);
	back = cJSON_Parse(pretty);
	FUZZ_CHECK(ref && back && equal(ref, back));
	cJSON_Delete(ref);
	cJSON_Delete(back);
	cJSON_free(flat);
	free(pretty);
	cJSON_Delete(j);
	return 0;
}
