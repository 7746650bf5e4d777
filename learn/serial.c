/*
 * The model file container: a little-endian, versioned, checksummed list
 * of typed sections (format in learn/learn.h). The writer builds the bytes
 * into a caller buffer or a growing one; the decoder validates a whole
 * buffer without allocating and hands out a borrowed view. No I/O here:
 * the agent writes files crash-safe.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "learn/learn.h"

#define OFF_VERSION  8
#define OFF_FLAGS    12
#define OFF_KIND     16
#define OFF_SCHEMA   20
#define OFF_FEATURES 24
#define OFF_LAYOUT   28
#define OFF_SECTIONS 32
#define OFF_RESERVED 36
#define OFF_LENGTH   40

#define WRITER_INITIAL_BYTES 4096u

const uint8_t fm_learn_model_magic[FM_LEARN_MODEL_MAGIC_BYTES] = { 0x89, 'F',
	'M', 'M', '\r', '\n', 0x1a, '\n' };

/* CRC-32C, reflected polynomial 0x82f63b78, one byte per step. */
/* clang-format off */
static const uint32_t crc32c_table[256] = {
	0x00000000, 0xf26b8303, 0xe13b70f7, 0x1350f3f4,
	0xc79a971f, 0x35f1141c, 0x26a1e7e8, 0xd4ca64eb,
	0x8ad958cf, 0x78b2dbcc, 0x6be22838, 0x9989ab3b,
	0x4d43cfd0, 0xbf284cd3, 0xac78bf27, 0x5e133c24,
	0x105ec76f, 0xe235446c, 0xf165b798, 0x030e349b,
	0xd7c45070, 0x25afd373, 0x36ff2087, 0xc494a384,
	0x9a879fa0, 0x68ec1ca3, 0x7bbcef57, 0x89d76c54,
	0x5d1d08bf, 0xaf768bbc, 0xbc267848, 0x4e4dfb4b,
	0x20bd8ede, 0xd2d60ddd, 0xc186fe29, 0x33ed7d2a,
	0xe72719c1, 0x154c9ac2, 0x061c6936, 0xf477ea35,
	0xaa64d611, 0x580f5512, 0x4b5fa6e6, 0xb93425e5,
	0x6dfe410e, 0x9f95c20d, 0x8cc531f9, 0x7eaeb2fa,
	0x30e349b1, 0xc288cab2, 0xd1d83946, 0x23b3ba45,
	0xf779deae, 0x05125dad, 0x1642ae59, 0xe4292d5a,
	0xba3a117e, 0x4851927d, 0x5b016189, 0xa96ae28a,
	0x7da08661, 0x8fcb0562, 0x9c9bf696, 0x6ef07595,
	0x417b1dbc, 0xb3109ebf, 0xa0406d4b, 0x522bee48,
	0x86e18aa3, 0x748a09a0, 0x67dafa54, 0x95b17957,
	0xcba24573, 0x39c9c670, 0x2a993584, 0xd8f2b687,
	0x0c38d26c, 0xfe53516f, 0xed03a29b, 0x1f682198,
	0x5125dad3, 0xa34e59d0, 0xb01eaa24, 0x42752927,
	0x96bf4dcc, 0x64d4cecf, 0x77843d3b, 0x85efbe38,
	0xdbfc821c, 0x2997011f, 0x3ac7f2eb, 0xc8ac71e8,
	0x1c661503, 0xee0d9600, 0xfd5d65f4, 0x0f36e6f7,
	0x61c69362, 0x93ad1061, 0x80fde395, 0x72966096,
	0xa65c047d, 0x5437877e, 0x4767748a, 0xb50cf789,
	0xeb1fcbad, 0x197448ae, 0x0a24bb5a, 0xf84f3859,
	0x2c855cb2, 0xdeeedfb1, 0xcdbe2c45, 0x3fd5af46,
	0x7198540d, 0x83f3d70e, 0x90a324fa, 0x62c8a7f9,
	0xb602c312, 0x44694011, 0x5739b3e5, 0xa55230e6,
	0xfb410cc2, 0x092a8fc1, 0x1a7a7c35, 0xe811ff36,
	0x3cdb9bdd, 0xceb018de, 0xdde0eb2a, 0x2f8b6829,
	0x82f63b78, 0x709db87b, 0x63cd4b8f, 0x91a6c88c,
	0x456cac67, 0xb7072f64, 0xa457dc90, 0x563c5f93,
	0x082f63b7, 0xfa44e0b4, 0xe9141340, 0x1b7f9043,
	0xcfb5f4a8, 0x3dde77ab, 0x2e8e845f, 0xdce5075c,
	0x92a8fc17, 0x60c37f14, 0x73938ce0, 0x81f80fe3,
	0x55326b08, 0xa759e80b, 0xb4091bff, 0x466298fc,
	0x1871a4d8, 0xea1a27db, 0xf94ad42f, 0x0b21572c,
	0xdfeb33c7, 0x2d80b0c4, 0x3ed04330, 0xccbbc033,
	0xa24bb5a6, 0x502036a5, 0x4370c551, 0xb11b4652,
	0x65d122b9, 0x97baa1ba, 0x84ea524e, 0x7681d14d,
	0x2892ed69, 0xdaf96e6a, 0xc9a99d9e, 0x3bc21e9d,
	0xef087a76, 0x1d63f975, 0x0e330a81, 0xfc588982,
	0xb21572c9, 0x407ef1ca, 0x532e023e, 0xa145813d,
	0x758fe5d6, 0x87e466d5, 0x94b49521, 0x66df1622,
	0x38cc2a06, 0xcaa7a905, 0xd9f75af1, 0x2b9cd9f2,
	0xff56bd19, 0x0d3d3e1a, 0x1e6dcdee, 0xec064eed,
	0xc38d26c4, 0x31e6a5c7, 0x22b65633, 0xd0ddd530,
	0x0417b1db, 0xf67c32d8, 0xe52cc12c, 0x1747422f,
	0x49547e0b, 0xbb3ffd08, 0xa86f0efc, 0x5a048dff,
	0x8ecee914, 0x7ca56a17, 0x6ff599e3, 0x9d9e1ae0,
	0xd3d3e1ab, 0x21b862a8, 0x32e8915c, 0xc083125f,
	0x144976b4, 0xe622f5b7, 0xf5720643, 0x07198540,
	0x590ab964, 0xab613a67, 0xb831c993, 0x4a5a4a90,
	0x9e902e7b, 0x6cfbad78, 0x7fab5e8c, 0x8dc0dd8f,
	0xe330a81a, 0x115b2b19, 0x020bd8ed, 0xf0605bee,
	0x24aa3f05, 0xd6c1bc06, 0xc5914ff2, 0x37faccf1,
	0x69e9f0d5, 0x9b8273d6, 0x88d28022, 0x7ab90321,
	0xae7367ca, 0x5c18e4c9, 0x4f48173d, 0xbd23943e,
	0xf36e6f75, 0x0105ec76, 0x12551f82, 0xe03e9c81,
	0x34f4f86a, 0xc69f7b69, 0xd5cf889d, 0x27a40b9e,
	0x79b737ba, 0x8bdcb4b9, 0x988c474d, 0x6ae7c44e,
	0xbe2da0a5, 0x4c4623a6, 0x5f16d052, 0xad7d5351,
};
/* clang-format on */

uint32_t
fm_learn_crc32c_update(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	crc = ~crc;
	for (size_t i = 0; i < len; i++)
		crc = crc32c_table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/* ---- little-endian codec ---------------------------------------------- */

static void
put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void
put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void
put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t
get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t
get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static uint64_t
get_le64(const uint8_t *p)
{
	return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

static uint32_t
f32_bits(float f)
{
	uint32_t u;

	memcpy(&u, &f, sizeof(u));
	return u;
}

static float
f32_from_bits(uint32_t u)
{
	float f;

	memcpy(&f, &u, sizeof(f));
	return f;
}

static uint64_t
f64_bits(double d)
{
	uint64_t u;

	memcpy(&u, &d, sizeof(u));
	return u;
}

static double
f64_from_bits(uint64_t u)
{
	double d;

	memcpy(&d, &u, sizeof(d));
	return d;
}

/* Element size of a section type, or 0 for a type this version lacks. */
static size_t
elem_bytes(uint16_t type)
{
	switch (type) {
	case FM_LEARN_SECTION_F32:
	case FM_LEARN_SECTION_U32:
		return 4;
	case FM_LEARN_SECTION_U64:
	case FM_LEARN_SECTION_F64:
		return 8;
	default:
		return 0;
	}
}

uint32_t
fm_learn_layout_id_compute(
    uint32_t kind, uint32_t schema_version, const uint32_t *dims, size_t n_dims)
{
	static const char tag[] = "fedmon-layout";
	uint8_t le[8];
	uint32_t crc;

	crc = fm_learn_crc32c_update(0, tag, sizeof(tag) - 1);
	put_le32(le, kind);
	put_le32(le + 4, schema_version);
	crc = fm_learn_crc32c_update(crc, le, 8);
	put_le64(le, (uint64_t)n_dims);
	crc = fm_learn_crc32c_update(crc, le, 8);
	for (size_t i = 0; i < n_dims; i++) {
		put_le32(le, dims[i]);
		crc = fm_learn_crc32c_update(crc, le, 4);
	}
	return crc != 0 ? crc : 1;
}

/* ---- writer ------------------------------------------------------------ */

static int
writer_fail(fm_learn_model_writer *w, int error)
{
	if (w->error == 0)
		w->error = error;
	return w->error;
}

/* Makes room for n more bytes; returns a pointer to them or NULL with the
 * writer failed. Caps the file at FM_LEARN_MODEL_MAX_BYTES. */
static uint8_t *
writer_reserve(fm_learn_model_writer *w, size_t n)
{
	size_t need, cap;
	uint8_t *p;

	if (n > FM_LEARN_MODEL_MAX_BYTES - w->len) {
		(void)writer_fail(w, -EMSGSIZE);
		return NULL;
	}
	need = w->len + n;
	if (need > w->cap) {
		if (!w->growable) {
			(void)writer_fail(w, -ENOBUFS);
			return NULL;
		}
		cap = w->cap ? w->cap : WRITER_INITIAL_BYTES;
		while (cap < need)
			cap *= 2;
		if (cap > FM_LEARN_MODEL_MAX_BYTES)
			cap = FM_LEARN_MODEL_MAX_BYTES;
		p = realloc(w->buf, cap);
		if (!p) {
			(void)writer_fail(w, -ENOMEM);
			return NULL;
		}
		w->buf = p;
		w->cap = cap;
	}
	p = w->buf + w->len;
	w->len = need;
	return p;
}

int
fm_learn_model_writer_init(fm_learn_model_writer *w,
    const fm_learn_model_info *info, uint8_t *buf, size_t cap)
{
	uint8_t *h;

	*w = (fm_learn_model_writer) {
		.buf = buf, .cap = buf ? cap : 0, .growable = buf == NULL
	};
	if (info->kind == 0)
		return writer_fail(w, -EINVAL);
	h = writer_reserve(w, FM_LEARN_MODEL_HEADER_BYTES);
	if (!h)
		return w->error;
	memcpy(h, fm_learn_model_magic, FM_LEARN_MODEL_MAGIC_BYTES);
	put_le32(h + OFF_VERSION, FM_LEARN_MODEL_VERSION);
	put_le32(h + OFF_FLAGS, 0);
	put_le32(h + OFF_KIND, info->kind);
	put_le32(h + OFF_SCHEMA, info->schema_version);
	put_le32(h + OFF_FEATURES, info->n_features);
	put_le32(h + OFF_LAYOUT, info->layout_id);
	put_le32(h + OFF_SECTIONS, 0);
	put_le32(h + OFF_RESERVED, 0);
	put_le64(h + OFF_LENGTH, 0);
	return 0;
}

/* Checks and writes a section header; returns where the payload goes. */
static uint8_t *
writer_section(fm_learn_model_writer *w, uint32_t id, uint16_t type,
    uint16_t flags, size_t count)
{
	uint8_t *p;

	if (w->error)
		return NULL;
	if (w->n_sections > 0 && id <= w->last_id) {
		(void)writer_fail(w, -EINVAL);
		return NULL;
	}
	if ((flags & ~FM_LEARN_SECTION_PARAM) != 0 ||
	    (flags != 0 && type != FM_LEARN_SECTION_F32)) {
		(void)writer_fail(w, -EINVAL);
		return NULL;
	}
	if (w->n_sections >= FM_LEARN_MODEL_MAX_SECTIONS ||
	    count > FM_LEARN_MODEL_MAX_ELEMS) {
		(void)writer_fail(w, -EMSGSIZE);
		return NULL;
	}
	/* count <= MAX_ELEMS: no overflow in the product */
	p = writer_reserve(
	    w, FM_LEARN_MODEL_SECTION_HEADER_BYTES + count * elem_bytes(type));
	if (!p)
		return NULL;
	put_le32(p, id);
	put_le16(p + 4, type);
	put_le16(p + 6, flags);
	put_le64(p + 8, (uint64_t)count);
	w->n_sections++;
	w->last_id = id;
	return p + FM_LEARN_MODEL_SECTION_HEADER_BYTES;
}

int
fm_learn_model_writer_put_f32(fm_learn_model_writer *w, uint32_t id,
    uint16_t flags, const float *v, size_t n)
{
	uint8_t *p;

	if (w->error)
		return w->error;
	if (n > FM_LEARN_MODEL_MAX_ELEMS)
		return writer_fail(w, -EMSGSIZE);
	if (flags & FM_LEARN_SECTION_PARAM) {
		for (size_t i = 0; i < n; i++) {
			if (!isfinite(v[i]))
				return writer_fail(w, -EDOM);
		}
	}
	p = writer_section(w, id, FM_LEARN_SECTION_F32, flags, n);
	if (!p)
		return w->error;
	for (size_t i = 0; i < n; i++)
		put_le32(p + 4 * i, f32_bits(v[i]));
	return 0;
}

int
fm_learn_model_writer_put_u32(fm_learn_model_writer *w, uint32_t id, uint32_t v)
{
	uint8_t *p = writer_section(w, id, FM_LEARN_SECTION_U32, 0, 1);

	if (!p)
		return w->error;
	put_le32(p, v);
	return 0;
}

int
fm_learn_model_writer_put_u64(fm_learn_model_writer *w, uint32_t id, uint64_t v)
{
	uint8_t *p = writer_section(w, id, FM_LEARN_SECTION_U64, 0, 1);

	if (!p)
		return w->error;
	put_le64(p, v);
	return 0;
}

int
fm_learn_model_writer_put_f64(fm_learn_model_writer *w, uint32_t id, double v)
{
	uint8_t *p = writer_section(w, id, FM_LEARN_SECTION_F64, 0, 1);

	if (!p)
		return w->error;
	put_le64(p, f64_bits(v));
	return 0;
}

int
fm_learn_model_writer_finish(
    fm_learn_model_writer *w, uint8_t **ret_buf, size_t *ret_len)
{
	uint8_t *trailer;
	size_t len;

	if (w->error)
		return w->error;
	trailer = writer_reserve(w, FM_LEARN_MODEL_TRAILER_BYTES);
	if (!trailer)
		return w->error;
	len = w->len;
	put_le32(w->buf + OFF_SECTIONS, w->n_sections);
	put_le64(w->buf + OFF_LENGTH, (uint64_t)len);
	put_le32(trailer,
	    fm_learn_crc32c_update(
	        0, w->buf, len - FM_LEARN_MODEL_TRAILER_BYTES));
	*ret_buf = w->buf;
	*ret_len = len;
	*w = (fm_learn_model_writer) { 0 };
	return 0;
}

void
fm_learn_model_writer_release(fm_learn_model_writer *w)
{
	if (!w)
		return;
	if (w->growable)
		free(w->buf);
	*w = (fm_learn_model_writer) { 0 };
}

/* ---- decoder ----------------------------------------------------------- */

/* Checks the section table of a checksummed file of n_sections sections
 * in buf[len]. */
static int
check_sections(const uint8_t *buf, size_t len, uint32_t n_sections)
{
	size_t off = FM_LEARN_MODEL_HEADER_BYTES;
	size_t end = len - FM_LEARN_MODEL_TRAILER_BYTES;
	uint32_t last_id = 0;

	for (uint32_t s = 0; s < n_sections; s++) {
		const uint8_t *p = buf + off;
		uint32_t id;
		uint16_t type, flags;
		uint64_t count;
		size_t esz;

		if (end - off < FM_LEARN_MODEL_SECTION_HEADER_BYTES)
			return -EBADMSG;
		id = get_le32(p);
		type = get_le16(p + 4);
		flags = get_le16(p + 6);
		count = get_le64(p + 8);
		if (count > FM_LEARN_MODEL_MAX_ELEMS)
			return -EMSGSIZE;
		esz = elem_bytes(type);
		if (esz == 0 || (s > 0 && id <= last_id))
			return -EBADMSG;
		if ((flags & ~FM_LEARN_SECTION_PARAM) != 0 ||
		    (flags != 0 && type != FM_LEARN_SECTION_F32))
			return -EBADMSG;
		if (type != FM_LEARN_SECTION_F32 && count != 1)
			return -EBADMSG;
		off += FM_LEARN_MODEL_SECTION_HEADER_BYTES;
		if ((end - off) / esz < count)
			return -EBADMSG;
		if (flags & FM_LEARN_SECTION_PARAM) {
			for (uint64_t i = 0; i < count; i++) {
				if (!isfinite(f32_from_bits(
				        get_le32(buf + off + 4 * i))))
					return -EDOM;
			}
		}
		off += (size_t)count * esz;
		last_id = id;
	}
	return off == end ? 0 : -EBADMSG;
}

int
fm_learn_model_decode(const uint8_t *buf, size_t len,
    const fm_learn_model_info *expect, fm_learn_model_reader *ret)
{
	fm_learn_model_info info;
	uint32_t n_sections;
	size_t n_magic;
	int r;

	if (len > FM_LEARN_MODEL_MAX_BYTES)
		return -EMSGSIZE;
	if (len == 0)
		return -EBADMSG;
	n_magic =
	    len < FM_LEARN_MODEL_MAGIC_BYTES ? len : FM_LEARN_MODEL_MAGIC_BYTES;
	if (memcmp(buf, fm_learn_model_magic, n_magic) != 0)
		return -EPROTO;
	if (len >= OFF_VERSION + 4 &&
	    get_le32(buf + OFF_VERSION) != FM_LEARN_MODEL_VERSION)
		return -EPROTONOSUPPORT;
	if (len < FM_LEARN_MODEL_HEADER_BYTES + FM_LEARN_MODEL_TRAILER_BYTES)
		return -EBADMSG;
	if (get_le64(buf + OFF_LENGTH) != (uint64_t)len)
		return -EBADMSG;
	if (fm_learn_crc32c_update(
	        0, buf, len - FM_LEARN_MODEL_TRAILER_BYTES) !=
	    get_le32(buf + len - FM_LEARN_MODEL_TRAILER_BYTES))
		return -EBADMSG;
	if (get_le32(buf + OFF_FLAGS) != 0 || get_le32(buf + OFF_RESERVED) != 0)
		return -EBADMSG;
	n_sections = get_le32(buf + OFF_SECTIONS);
	if (n_sections > FM_LEARN_MODEL_MAX_SECTIONS)
		return -EMSGSIZE;
	info = (fm_learn_model_info) {
		.kind = get_le32(buf + OFF_KIND),
		.schema_version = get_le32(buf + OFF_SCHEMA),
		.n_features = get_le32(buf + OFF_FEATURES),
		.layout_id = get_le32(buf + OFF_LAYOUT),
	};
	if (info.kind == 0)
		return -EBADMSG;
	r = check_sections(buf, len, n_sections);
	if (r < 0)
		return r;
	if (expect &&
	    ((expect->kind && expect->kind != info.kind) ||
	        (expect->schema_version &&
	            expect->schema_version != info.schema_version) ||
	        (expect->n_features && expect->n_features != info.n_features) ||
	        (expect->layout_id && expect->layout_id != info.layout_id)))
		return -ESTALE;
	*ret = (fm_learn_model_reader) {
		.buf = buf, .len = len, .n_sections = n_sections, .info = info
	};
	return 0;
}

const fm_learn_model_info *
fm_learn_model_reader_info(const fm_learn_model_reader *r)
{
	return &r->info;
}

uint32_t
fm_learn_model_reader_section_count(const fm_learn_model_reader *r)
{
	return r->n_sections;
}

/* Walks a decoded (hence valid) file: describes section index and
 * returns its payload. */
static const uint8_t *
section_walk(
    const fm_learn_model_reader *r, uint32_t index, fm_learn_section_info *ret)
{
	size_t off = FM_LEARN_MODEL_HEADER_BYTES;

	for (uint32_t s = 0;; s++) {
		const uint8_t *p = r->buf + off;
		fm_learn_section_info si = {
			.id = get_le32(p),
			.type = get_le16(p + 4),
			.flags = get_le16(p + 6),
			.count = (size_t)get_le64(p + 8),
		};

		if (s == index) {
			*ret = si;
			return p + FM_LEARN_MODEL_SECTION_HEADER_BYTES;
		}
		off += FM_LEARN_MODEL_SECTION_HEADER_BYTES +
		    si.count * elem_bytes(si.type);
	}
}

int
fm_learn_model_reader_section_at(
    const fm_learn_model_reader *r, uint32_t index, fm_learn_section_info *ret)
{
	if (index >= r->n_sections)
		return -ENOENT;
	(void)section_walk(r, index, ret);
	return 0;
}

/* Finds section id: its payload and description, or NULL. */
static const uint8_t *
section_find(
    const fm_learn_model_reader *r, uint32_t id, fm_learn_section_info *ret)
{
	size_t off = FM_LEARN_MODEL_HEADER_BYTES;

	for (uint32_t s = 0; s < r->n_sections; s++) {
		const uint8_t *p = r->buf + off;
		uint32_t sid = get_le32(p);
		uint16_t type = get_le16(p + 4);
		size_t count = (size_t)get_le64(p + 8);

		if (sid == id) {
			*ret = (fm_learn_section_info) { .id = sid,
				.type = type,
				.flags = get_le16(p + 6),
				.count = count };
			return p + FM_LEARN_MODEL_SECTION_HEADER_BYTES;
		}
		if (sid > id)
			break; /* ids increase */
		off += FM_LEARN_MODEL_SECTION_HEADER_BYTES +
		    count * elem_bytes(type);
	}
	return NULL;
}

int
fm_learn_model_reader_find(
    const fm_learn_model_reader *r, uint32_t id, fm_learn_section_info *ret)
{
	fm_learn_section_info si;

	if (!section_find(r, id, &si))
		return -ENOENT;
	*ret = si;
	return 0;
}

int
fm_learn_model_reader_get_f32(
    const fm_learn_model_reader *r, uint32_t id, float *dst, size_t n)
{
	fm_learn_section_info si;
	const uint8_t *p = section_find(r, id, &si);

	if (!p)
		return -ENOENT;
	if (si.type != FM_LEARN_SECTION_F32 || si.count != n)
		return -ESTALE;
	for (size_t i = 0; i < n; i++)
		dst[i] = f32_from_bits(get_le32(p + 4 * i));
	return 0;
}

/* Finds scalar section id of type; NULL with *ret_error set otherwise. */
static const uint8_t *
scalar_find(
    const fm_learn_model_reader *r, uint32_t id, uint16_t type, int *ret_error)
{
	fm_learn_section_info si;
	const uint8_t *p = section_find(r, id, &si);

	if (!p) {
		*ret_error = -ENOENT;
		return NULL;
	}
	if (si.type != type) {
		*ret_error = -ESTALE;
		return NULL;
	}
	return p;
}

int
fm_learn_model_reader_get_u32(
    const fm_learn_model_reader *r, uint32_t id, uint32_t *ret)
{
	int error = 0;
	const uint8_t *p = scalar_find(r, id, FM_LEARN_SECTION_U32, &error);

	if (!p)
		return error;
	*ret = get_le32(p);
	return 0;
}

int
fm_learn_model_reader_get_u64(
    const fm_learn_model_reader *r, uint32_t id, uint64_t *ret)
{
	int error = 0;
	const uint8_t *p = scalar_find(r, id, FM_LEARN_SECTION_U64, &error);

	if (!p)
		return error;
	*ret = get_le64(p);
	return 0;
}

int
fm_learn_model_reader_get_f64(
    const fm_learn_model_reader *r, uint32_t id, double *ret)
{
	int error = 0;
	const uint8_t *p = scalar_find(r, id, FM_LEARN_SECTION_F64, &error);

	if (!p)
		return error;
	*ret = f64_from_bits(get_le64(p));
	return 0;
}

size_t
fm_learn_model_reader_params_count(const fm_learn_model_reader *r)
{
	fm_learn_section_info si;
	size_t n = 0;

	for (uint32_t s = 0; s < r->n_sections; s++) {
		(void)section_walk(r, s, &si);
		if (si.flags & FM_LEARN_SECTION_PARAM)
			n += si.count;
	}
	return n;
}

int
fm_learn_model_reader_params_export(
    const fm_learn_model_reader *r, float *dst, size_t cap, size_t *ret_n)
{
	size_t n = fm_learn_model_reader_params_count(r), k = 0;
	size_t off = FM_LEARN_MODEL_HEADER_BYTES;

	if (n > cap)
		return -ENOBUFS;
	for (uint32_t s = 0; s < r->n_sections; s++) {
		const uint8_t *p = r->buf + off;
		uint16_t type = get_le16(p + 4);
		uint16_t flags = get_le16(p + 6);
		size_t count = (size_t)get_le64(p + 8);

		p += FM_LEARN_MODEL_SECTION_HEADER_BYTES;
		if (flags & FM_LEARN_SECTION_PARAM) {
			for (size_t i = 0; i < count; i++)
				dst[k++] = f32_from_bits(get_le32(p + 4 * i));
		}
		off += FM_LEARN_MODEL_SECTION_HEADER_BYTES +
		    count * elem_bytes(type);
	}
	*ret_n = n;
	return 0;
}
