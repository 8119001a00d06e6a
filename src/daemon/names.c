/* SPDX-License-Identifier: Apache-2.0 */
/* Name validation and generation (word lists of our own). */
#include "names.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "alloc.h"
#include "cleanup.h"

static const char *const adjectives[] = {
	"agile",  "bold",   "brave",   "bright", "calm",    "clever",  "cool",	  "crisp",
	"daring", "eager",  "earnest", "elated", "fervent", "fond",    "gallant", "gentle",
	"happy",  "hardy",  "humble",  "jolly",	 "keen",    "kind",    "lively",  "loyal",
	"lucid",  "merry",  "mighty",  "modest", "nimble",  "noble",   "patient", "placid",
	"plucky", "polite", "proud",   "quick",	 "quiet",   "radiant", "rapid",	  "serene",
	"sharp",  "shy",    "silent",  "sleek",	 "smart",   "steady",  "stoic",	  "sunny",
	"swift",  "tender", "thrifty", "tidy",	 "trusty",  "upbeat",  "vibrant", "vigilant",
	"vivid",  "warm",   "wise",    "witty",	 "zealous", "zen",
};

static const char *const people[] = {
	"agnesi",  "archimedes", "babbage",  "bell",	   "bohr",    "boole",	  "cantor",
	"curie",   "darwin",	 "dijkstra", "einstein",   "euclid",  "euler",	  "faraday",
	"fermat",  "fermi",	 "feynman",  "franklin",   "galileo", "gauss",	  "germain",
	"goodall", "hamilton",	 "hawking",  "heisenberg", "hertz",   "hopper",	  "hypatia",
	"joliot",  "kepler",	 "knuth",    "lamarr",	   "laplace", "leibniz",  "lovelace",
	"maxwell", "meitner",	 "mendel",   "newton",	   "noether", "pascal",	  "pasteur",
	"planck",  "ramanujan",	 "ritchie",  "shannon",	   "tesla",   "thompson", "turing",
	"volta",   "wiles",	 "wozniak",  "yalow",
};

bool name_is_valid(const char *name)
{
	if (name[0] == '/')
		name++;
	size_t n = strlen(name);
	if (n < 2 || n > 255 || !isalnum((unsigned char)name[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '_' && name[i] != '.' &&
		    name[i] != '-')
			return false;
	return true;
}

char *name_generate(unsigned retry)
{
	uint32_t r[2] = { 0, 0 };
	if (getrandom(r, sizeof(r), 0) != sizeof(r))
		r[0] = r[1] = 7;
	const char *a = adjectives[r[0] % ELEMENTSOF(adjectives)];
	const char *p = people[r[1] % ELEMENTSOF(people)];
	if (retry > 0)
		return xasprintf("%s_%s%u", a, p, r[0] % 10);
	return xasprintf("%s_%s", a, p);
}

void id_generate(char out[ID_HEX_LEN + 1])
{
	uint8_t r[32];
	if (getrandom(r, sizeof(r), 0) != sizeof(r))
		abort(); /* the kernel's CSPRNG does not fail for 32 bytes */
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", r[i]);
}
