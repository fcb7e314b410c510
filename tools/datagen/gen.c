/*
 * gen.c
 *		Deterministic demo data: customers and support tickets.
 *
 * Each field draws from its own splitmix64 stream keyed by (seed, table, row,
 * field), so no value depends on the order of generation or on the scale.
 */
#include <stdio.h>
#include <string.h>

#include "checksum.h"
#include "gen.h"

const ag_source ag_sources[] = {
	{"crm_eu", "proprietary-internal", "{training,analytics,evaluation}"},
	{"web_signup_us", "CC-BY-4.0", "{training,evaluation}"},
	{"partner_acme", "CC-BY-NC-4.0", "{analytics}"},
};
const int	ag_nsources = 3;

static const char *first_names[] = {
	"Anna", "Lukas", "Sofia", "Jonas", "Emma", "Mateo", "Olivia", "Noah",
	"Amelia", "Liam", "Chloe", "Hugo", "Mia", "Leon", "Ines", "Elias",
	"Aisha", "Ravi", "Mei", "Kenji", "Fatima", "Omar", "Zoe", "Ethan",
	"Lucia", "Pablo", "Clara", "Felix", "Nora", "Arjun", "Yuki", "Sara",
};
static const char *last_names[] = {
	"Muller", "Schmidt", "Garcia", "Martin", "Rossi", "Dubois", "Smith",
	"Johnson", "Jansen", "de Vries", "Fernandez", "Lopez", "Bernard",
	"Weber", "Wagner", "Brown", "Nguyen", "Patel", "Kim", "Tanaka",
	"Okafor", "Haddad", "Novak", "Kowalski", "Silva", "Costa", "Moreau",
	"Fischer", "Becker", "Taylor", "Wilson", "Larsen",
};
static const char *mail_domains[] = {
	"example.com", "example.net", "example.org", "mail.example.com",
	"post.example.de", "inbox.example.fr",
};
static const char *street_names[] = {
	"Main Street", "Hauptstrasse", "Rue de la Paix", "Calle Mayor",
	"Kerkstraat", "Oak Avenue", "Lindenweg", "Via Roma", "High Street",
	"Bahnhofstrasse", "Avenue Victor Hugo", "Elm Street",
};

typedef struct country
{
	const char *code;
	const char *cities[4];
} country;

static const country eu_countries[] = {
	{"DE", {"Berlin", "Hamburg", "Munich", "Cologne"}},
	{"FR", {"Paris", "Lyon", "Marseille", "Lille"}},
	{"ES", {"Madrid", "Barcelona", "Valencia", "Seville"}},
	{"NL", {"Amsterdam", "Rotterdam", "Utrecht", "Eindhoven"}},
};
static const country us_country = {"US", {"Springfield", "Portland", "Austin", "Denver"}};
static const country gb_country = {"GB", {"London", "Leeds", "Bristol", "Glasgow"}};

static const char *channels[] = {"email", "chat", "phone", "web_form"};

#define NELEM(a) ((int) (sizeof(a) / sizeof((a)[0])))

enum field
{
	F_SOURCE = 1, F_FIRST, F_LAST, F_MAILNUM, F_DOMAIN, F_PHONE, F_CARD,
	F_IBAN, F_BIRTH, F_STREET, F_CITY, F_COUNTRY,
	F_T_CUSTOMER, F_T_TIME, F_T_CHANNEL, F_T_TEMPLATE, F_T_DECOY, F_T_EXTRA
};

static uint64_t
splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* A stream of random numbers for one field of one row. */
typedef struct stream
{
	uint64_t	state;
} stream;

static stream
stream_for(uint64_t seed, int table, int64_t row, int field)
{
	stream		s;

	s.state = splitmix64(seed ^ splitmix64(((uint64_t) table << 56) ^
										   ((uint64_t) field << 48) ^
										   (uint64_t) row));
	return s;
}

static uint64_t
next(stream *s)
{
	s->state = splitmix64(s->state);
	return s->state;
}

static int
pick(stream *s, int n)
{
	return (int) (next(s) % (uint64_t) n);
}

static void
digits(stream *s, char *out, int n)
{
	int			i;

	for (i = 0; i < n; i++)
		out[i] = (char) ('0' + pick(s, 10));
	out[n] = '\0';
}

static void
lower_ascii(char *dst, const char *src, size_t size)
{
	size_t		j = 0;

	for (; *src && j + 1 < size; src++)
	{
		char		c = *src;

		if (c == ' ')
			continue;
		if (c >= 'A' && c <= 'Z')
			c = (char) (c - 'A' + 'a');
		dst[j++] = c;
	}
	dst[j] = '\0';
}

static const country *
country_of(const ag_source *src, stream *s)
{
	if (strcmp(src->name, "web_signup_us") == 0)
		return &us_country;
	if (strcmp(src->name, "partner_acme") == 0 && pick(s, 2) == 0)
		return &gb_country;
	return &eu_countries[pick(s, NELEM(eu_countries))];
}

static void
gen_phone(stream *s, const char *cc, char *out, size_t size)
{
	char		d[12];
	int			national = pick(s, 3) == 0;

	digits(s, d, 10);
	if (strcmp(cc, "US") == 0)
	{
		/* 555-0100 to 555-0199 are reserved for fiction */
		static const char *areas[] = {"212", "415", "503", "512", "303"};
		const char *area = areas[pick(s, NELEM(areas))];

		snprintf(out, size, national ? "(%s) 555-01%.2s" : "+1 %s-555-01%.2s",
				 area, d);
	}
	else if (strcmp(cc, "DE") == 0)
		snprintf(out, size, national ? "030 %.7s" : "+49 30 %.7s", d);
	else if (strcmp(cc, "FR") == 0)
		snprintf(out, size, national ? "01 %.2s %.2s %.2s %.2s" : "+33 1 %.2s %.2s %.2s %.2s",
				 d, d + 2, d + 4, d + 6);
	else if (strcmp(cc, "ES") == 0)
		snprintf(out, size, "+34 91%.7s", d);
	else if (strcmp(cc, "NL") == 0)
		snprintf(out, size, national ? "020-%.7s" : "+31 20 %.7s", d);
	else
		snprintf(out, size, national ? "020 7946 %.4s" : "+44 20 7946 %.4s", d);
}

static void
gen_card(stream *s, char *out)
{
	/* issuers' published test ranges */
	static const struct
	{
		const char *prefix;
		int			len;
	}			ranges[] = {
		{"400000", 16}, {"411111", 16}, {"555555", 16}, {"510510", 16},
		{"601100", 16}, {"378282", 15},
	};
	int			r = pick(s, NELEM(ranges));
	int			plen = (int) strlen(ranges[r].prefix);
	int			len = ranges[r].len;

	memcpy(out, ranges[r].prefix, plen);
	digits(s, out + plen, len - 1 - plen);
	out[len - 1] = ag_luhn_check_digit(out, len - 1);
	out[len] = '\0';
}

static void
gen_iban(stream *s, const char *cc, char *out)
{
	char		bban[31];
	char		check[2];
	int			n;

	if (strcmp(cc, "NL") == 0 || strcmp(cc, "GB") == 0)
	{
		static const char *banks[] = {"ABNA", "INGB", "RABO", "NWBK", "BARC"};

		memcpy(bban, banks[pick(s, NELEM(banks))], 4);
		n = strcmp(cc, "NL") == 0 ? 10 : 14;
		digits(s, bban + 4, n);
		n += 4;
	}
	else
	{
		n = strcmp(cc, "DE") == 0 ? 18 : strcmp(cc, "FR") == 0 ? 23 :
			strcmp(cc, "ES") == 0 ? 20 : 18;
		digits(s, bban, n);
	}
	bban[n] = '\0';
	if (strcmp(cc, "US") == 0)
		cc = "DE";				/* US customers pay from a German account */
	ag_iban_check_digits(cc, bban, (size_t) n, check);
	snprintf(out, 40, "%c%c%c%c%s", cc[0], cc[1], check[0], check[1], bban);
}

void
ag_gen_customer(uint64_t seed, int64_t id, ag_customer *out)
{
	stream		s;
	const char *first;
	const char *last;
	char		lf[32];
	char		ll[32];
	const country *c;
	int			days;
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int			y,
				m;

	memset(out, 0, sizeof(*out));
	out->id = id;

	s = stream_for(seed, 1, id, F_SOURCE);
	{
		int			r = pick(&s, 10);

		out->source = &ag_sources[r < 5 ? 0 : r < 8 ? 1 : 2];
	}

	s = stream_for(seed, 1, id, F_FIRST);
	first = first_names[pick(&s, NELEM(first_names))];
	s = stream_for(seed, 1, id, F_LAST);
	last = last_names[pick(&s, NELEM(last_names))];
	snprintf(out->full_name, sizeof(out->full_name), "%s %s", first, last);

	lower_ascii(lf, first, sizeof(lf));
	lower_ascii(ll, last, sizeof(ll));
	s = stream_for(seed, 1, id, F_DOMAIN);
	{
		const char *domain = mail_domains[pick(&s, NELEM(mail_domains))];
		stream		n = stream_for(seed, 1, id, F_MAILNUM);

		snprintf(out->email, sizeof(out->email), "%s.%s%d@%s",
				 lf, ll, pick(&n, 1000), domain);
	}

	s = stream_for(seed, 1, id, F_COUNTRY);
	c = country_of(out->source, &s);
	memcpy(out->country, c->code, 2);
	s = stream_for(seed, 1, id, F_CITY);
	snprintf(out->city, sizeof(out->city), "%s", c->cities[pick(&s, 4)]);
	s = stream_for(seed, 1, id, F_STREET);
	{
		int			number = 1 + pick(&s, 240);
		const char *name = street_names[pick(&s, NELEM(street_names))];

		snprintf(out->street, sizeof(out->street), "%d %s", number, name);
	}

	s = stream_for(seed, 1, id, F_PHONE);
	gen_phone(&s, out->country, out->phone, sizeof(out->phone));
	s = stream_for(seed, 1, id, F_CARD);
	gen_card(&s, out->card_number);
	s = stream_for(seed, 1, id, F_IBAN);
	gen_iban(&s, out->country, out->iban);

	/* birth dates from 1940-01-01 through 2005-12-28 */
	s = stream_for(seed, 1, id, F_BIRTH);
	y = 1940 + pick(&s, 66);
	m = pick(&s, 12);
	days = 1 + pick(&s, mdays[m]);
	snprintf(out->birth_date, sizeof(out->birth_date), "%04d-%02d-%02d",
			 y, m + 1, days);
}

/*
 * Ticket bodies: prose with the customer's PII in it, plus decoys that look
 * numeric but are not PII (order numbers, dates, versions, a card-like number
 * that fails Luhn), so detectors can be measured on both.
 */
void
ag_gen_ticket(uint64_t seed, int64_t id, ag_ticket *out)
{
	stream		s;
	ag_customer cust;
	char		decoy[64];
	char		d[24];
	char		extra[160];
	int			back;
	int			day;

	memset(out, 0, sizeof(*out));
	out->id = id;

	/* a ticket belongs to one of the 50 customers before it, itself included */
	s = stream_for(seed, 2, id, F_T_CUSTOMER);
	back = pick(&s, id < 50 ? (int) id : 50);
	out->customer_id = id - back;
	ag_gen_customer(seed, out->customer_id, &cust);
	out->source = cust.source;

	s = stream_for(seed, 2, id, F_T_TIME);
	day = pick(&s, 365);
	{
		static const int cum[] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365};
		int			m = 0;
		int			hh = pick(&s, 24);
		int			mi = pick(&s, 60);
		int			ss = pick(&s, 60);

		while (day >= cum[m + 1])
			m++;
		snprintf(out->opened_at, sizeof(out->opened_at),
				 "2025-%02d-%02d %02d:%02d:%02d", m + 1, day - cum[m] + 1,
				 hh, mi, ss);
	}
	s = stream_for(seed, 2, id, F_T_CHANNEL);
	out->channel = channels[pick(&s, NELEM(channels))];

	s = stream_for(seed, 2, id, F_T_DECOY);
	digits(&s, d, 16);
	switch (pick(&s, 4))
	{
		case 0:
			snprintf(decoy, sizeof(decoy), "order #%.10s", d);
			break;
		case 1:
			{
				int			major = 1 + pick(&s, 9);
				int			minor = pick(&s, 20);
				int			patch = pick(&s, 30);

				snprintf(decoy, sizeof(decoy), "app version %d.%d.%d",
						 major, minor, patch);
			}
			break;
		case 2:
			/* 16 digits that fail Luhn: bump the last digit off the check */
			d[15] = ag_luhn_check_digit(d, 15);
			d[15] = (char) ('0' + (d[15] - '0' + 1) % 10);
			snprintf(decoy, sizeof(decoy), "reference %.16s", d);
			break;
		default:
			{
				int			month = 1 + pick(&s, 12);
				int			mday = 1 + pick(&s, 28);

				snprintf(decoy, sizeof(decoy), "invoice dated 2025-%02d-%02d",
						 month, mday);
			}
			break;
	}

	s = stream_for(seed, 2, id, F_T_EXTRA);
	extra[0] = '\0';
	switch (pick(&s, 12))
	{
		case 0:
			snprintf(extra, sizeof(extra),
					 " My IBAN for the refund is %s.", cust.iban);
			break;
		case 1:
			{
				int			b3 = pick(&s, 256);
				int			b4 = 1 + pick(&s, 254);

				snprintf(extra, sizeof(extra),
						 " The error came from 192.168.%d.%d while on VPN.", b3, b4);
			}
			break;
		case 2:
			if (strcmp(cust.country, "US") == 0)
			{
				/* made up, but inside the issued ranges: detectors must find it */
				int			area = 100 + pick(&s, 565);
				int			group = 1 + pick(&s, 98);
				int			serial = 1 + pick(&s, 9998);

				snprintf(extra, sizeof(extra),
						 " For verification my SSN is %03d-%02d-%04d.",
						 area, group, serial);
			}
			break;
		case 3:
			{
				static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
				char		key[17];
				int			i;

				for (i = 0; i < 16; i++)
					key[i] = b32[pick(&s, 32)];
				key[16] = '\0';
				snprintf(extra, sizeof(extra),
						 " I pasted my config by mistake: aws_access_key_id=AKIA%s", key);
			}
			break;
		case 4:
			{
				int			h1 = pick(&s, 65536);
				int			h2 = pick(&s, 65536);
				int			h3 = 1 + pick(&s, 65535);

				snprintf(extra, sizeof(extra),
						 " Connection from 2001:db8:%x:%x::%x failed.", h1, h2, h3);
			}
			break;
		default:
			break;
	}

	switch (pick(&s, 4))
	{
		case 0:
			snprintf(out->subject, sizeof(out->subject), "Charged twice on my card");
			snprintf(out->body, sizeof(out->body),
					 "Hello, this is %s. I was charged twice on card %s for %s. "
					 "Please call me back at %s.%s",
					 cust.full_name, cust.card_number, decoy, cust.phone, extra);
			break;
		case 1:
			snprintf(out->subject, sizeof(out->subject), "Cannot log in");
			snprintf(out->body, sizeof(out->body),
					 "Hi team, I cannot log in with %s since updating to the latest "
					 "release (%s). You can reach me on %s.%s",
					 cust.email, decoy, cust.phone, extra);
			break;
		case 2:
			snprintf(out->subject, sizeof(out->subject), "Change of address");
			snprintf(out->body, sizeof(out->body),
					 "Please update my address to %s, %s (%s). Born %s, in case "
					 "you need to verify. Regarding %s.%s",
					 cust.street, cust.city, cust.country, cust.birth_date,
					 decoy, extra);
			break;
		default:
			snprintf(out->subject, sizeof(out->subject), "Question about %s",
					 decoy);
			snprintf(out->body, sizeof(out->body),
					 "Good morning, about %s: could you send the details to %s? "
					 "Thanks, %s%s",
					 decoy, cust.email, cust.full_name, extra);
			break;
	}
}
