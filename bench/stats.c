/*
 * stats: latencies kept one by one (a few hundred thousand at most for a
 * run of seconds), sorted once for the percentiles.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "stats.h"

static int grow(struct stats *s, size_t need)
{
	size_t cap = s->cap ? s->cap : 4096;
	uint64_t *p;

	if (need <= s->cap)
		return 0;
	while (cap < need)
		cap *= 2;
	if ((p = realloc(s->ns, cap * sizeof(*p))) == NULL)
		return -1;
	s->ns = p;
	s->cap = cap;
	return 0;
}

int stats_add(struct stats *s, uint64_t ns)
{
	if (grow(s, s->num + 1) != 0)
		return -1;
	s->ns[s->num++] = ns;
	return 0;
}

int stats_merge(struct stats *to, struct stats *from)
{
	if (grow(to, to->num + from->num) != 0)
		return -1;
	if (from->num > 0)
		memcpy(to->ns + to->num, from->ns, from->num * sizeof(*from->ns));
	to->num += from->num;
	from->num = 0;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

double stats_quantile_us(struct stats *s, double q)
{
	size_t rank;

	if (s->num == 0)
		return 0;
	qsort(s->ns, s->num, sizeof(*s->ns), cmp_u64);
	rank = (size_t)(q * (double)s->num);
	if ((double)rank < q * (double)s->num)
		rank++;
	if (rank < 1)
		rank = 1;
	if (rank > s->num)
		rank = s->num;
	return (double)s->ns[rank - 1] / 1000.0;
}

void stats_free(struct stats *s)
{
	free(s->ns);
	memset(s, 0, sizeof(*s));
}
