/* The learned analyser's per-post scoring in C: the character n-gram and word hashing of `features._char_buckets` and
 * `features.word_buckets`, and the sum of a post's weight rows that `LinearModel.scores` does in numpy.
 *
 * Optional: setup.py builds it when a C compiler is present; without it the analyser runs the numpy code, which is
 * what training uses and what tests/analysis/test_speedups.py holds this module to (same buckets, same scores).
 * The hashing constants are passed in from features.py, so they are defined once.
 *
 * Why it exists: on a post of ~70 characters the numpy version spends most of its time in the fixed cost of a
 * dozen small numpy calls (building the index and value arrays, the gather, the product); see docs/analysis.md. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#define MAX_N 8

/* Strings built by the old wchar_t API must be made ready before their code points are read; from Python 3.12 every
 * string is, and PyUnicode_READY is deprecated. */
#if PY_VERSION_HEX < 0x030C0000
#define ENSURE_READY(s) PyUnicode_READY(s)
#else
#define ENSURE_READY(s) 0
#endif

typedef struct {
    uint64_t prime, mix;
    unsigned shift;
    Py_ssize_t count;     /* how many n (2, 3, ... count + 1) */
    uint64_t salt[MAX_N]; /* salt of n = i + 2 */
    uint64_t unigram, bigram; /* the salts of the language-free word unigrams and of the bigrams */
} Hashing;

static int read_hashing(PyObject *spec, Hashing *h) {
    /* spec: (prime, mix, shift, (salt of n=2, salt of n=3, ...), unigram salt, bigram salt) */
    PyObject *salts;
    unsigned long long prime, mix, unigram, bigram;
    unsigned int shift;
    if (!PyArg_ParseTuple(spec, "KKIO!KK;hashing must be (prime, mix, shift, salts, unigram salt, bigram salt)",
                          &prime, &mix, &shift, &PyTuple_Type, &salts, &unigram, &bigram))
        return -1;
    h->prime = (uint64_t)prime;
    h->mix = (uint64_t)mix;
    h->shift = shift;
    h->unigram = (uint64_t)unigram;
    h->bigram = (uint64_t)bigram;
    h->count = PyTuple_GET_SIZE(salts);
    if (h->count < 1 || h->count > MAX_N || shift == 0 || shift >= 64) {
        PyErr_SetString(PyExc_ValueError, "hashing: 1 to 8 n-gram sizes and a shift of 1 to 63 bits");
        return -1;
    }
    for (Py_ssize_t i = 0; i < h->count; i++) {
        h->salt[i] = (uint64_t)PyLong_AsUnsignedLongLongMask(PyTuple_GET_ITEM(salts, i));
        if (PyErr_Occurred())
            return -1;
    }
    return 0;
}

/* Code points of `text` as the numpy version reads them (UTF-32, lone surrogates as their own values). */
static uint64_t *code_points(PyObject *text, Py_ssize_t *length) {
    if (ENSURE_READY(text) < 0)
        return NULL;
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    uint64_t *codes = PyMem_Malloc((size_t)(n > 0 ? n : 1) * sizeof(uint64_t));
    if (codes == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++)
        codes[i] = (uint64_t)PyUnicode_READ(kind, data, i);
    *length = n;
    return codes;
}

static inline Py_ssize_t ngram_count(Py_ssize_t length, const Hashing *h) {
    Py_ssize_t total = 0;
    for (Py_ssize_t k = 0; k < h->count; k++) {
        Py_ssize_t n = k + 2;
        if (length >= n)
            total += length - n + 1;
    }
    return total;
}

static inline uint64_t bucket(uint64_t h, uint64_t salt, const Hashing *hashing) {
    return ((h ^ salt) * hashing->mix) >> hashing->shift;
}

/* The buckets of the character n-grams of `text`, all n = 2 first (the order of features._char_buckets), in a new
 * array of *count entries; NULL with an exception set. */
static uint64_t *char_ngram_buckets(PyObject *text, const Hashing *h, Py_ssize_t *count) {
    Py_ssize_t length;
    uint64_t *codes = code_points(text, &length);
    if (codes == NULL)
        return NULL;
    Py_ssize_t total = ngram_count(length, h);
    uint64_t *out = PyMem_Malloc((size_t)(total > 0 ? total : 1) * sizeof(uint64_t));
    /* The rolling hash of the n-grams starting at i is kept per i, as numpy keeps one array per n. */
    uint64_t *rolling = PyMem_Malloc((size_t)(length > 0 ? length : 1) * sizeof(uint64_t));
    if (out == NULL || rolling == NULL) {
        PyMem_Free(out);
        PyMem_Free(rolling);
        PyMem_Free(codes);
        PyErr_NoMemory();
        return NULL;
    }
    memcpy(rolling, codes, (size_t)length * sizeof(uint64_t));
    Py_ssize_t at = 0;
    for (Py_ssize_t k = 0; k < h->count; k++) {
        Py_ssize_t n = k + 2;
        for (Py_ssize_t i = 0; i + n <= length; i++) {
            rolling[i] = rolling[i] * h->prime + codes[i + n - 1];
            out[at++] = bucket(rolling[i], h->salt[k], h);
        }
    }
    PyMem_Free(rolling);
    PyMem_Free(codes);
    *count = total;
    return out;
}

/* A new list of the first `count` buckets, or NULL with an exception set. */
static PyObject *bucket_list(const uint64_t *buckets, Py_ssize_t count) {
    PyObject *out = PyList_New(count);
    if (out == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *b = PyLong_FromUnsignedLongLong(buckets[i]);
        if (b == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        PyList_SET_ITEM(out, i, b);
    }
    return out;
}

/* char_buckets(text, hashing) -> list[int]: the buckets of the character n-grams of `text`, all n = 2 first. */
static PyObject *char_buckets(PyObject *self, PyObject *args) {
    PyObject *text, *spec;
    Hashing h;
    if (!PyArg_ParseTuple(args, "UO!", &text, &PyTuple_Type, &spec) || read_hashing(spec, &h) < 0)
        return NULL;
    Py_ssize_t count;
    uint64_t *buckets = char_ngram_buckets(text, &h, &count);
    if (buckets == NULL)
        return NULL;
    PyObject *out = bucket_list(buckets, count);
    PyMem_Free(buckets);
    return out;
}

/* CRC-32 (the polynomial of zlib.crc32) of a word's UTF-8 bytes, lone surrogates encoded as three bytes like any
 * other code point below U+10000: what zlib.crc32(word.encode("utf-8", "surrogatepass")) gives. */
static uint32_t crc_table[256];

static void init_crc_table(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

static inline uint32_t crc_byte(uint32_t crc, unsigned char byte) {
    return crc_table[(crc ^ byte) & 0xFF] ^ (crc >> 8);
}

static uint32_t word_crc(PyObject *word) {
    int kind = PyUnicode_KIND(word);
    const void *data = PyUnicode_DATA(word);
    Py_ssize_t n = PyUnicode_GET_LENGTH(word);
    uint32_t crc = 0xFFFFFFFFu;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (c < 0x80) {
            crc = crc_byte(crc, (unsigned char)c);
        } else if (c < 0x800) {
            crc = crc_byte(crc, (unsigned char)(0xC0 | (c >> 6)));
            crc = crc_byte(crc, (unsigned char)(0x80 | (c & 0x3F)));
        } else if (c < 0x10000) {
            crc = crc_byte(crc, (unsigned char)(0xE0 | (c >> 12)));
            crc = crc_byte(crc, (unsigned char)(0x80 | ((c >> 6) & 0x3F)));
            crc = crc_byte(crc, (unsigned char)(0x80 | (c & 0x3F)));
        } else {
            crc = crc_byte(crc, (unsigned char)(0xF0 | (c >> 18)));
            crc = crc_byte(crc, (unsigned char)(0x80 | ((c >> 12) & 0x3F)));
            crc = crc_byte(crc, (unsigned char)(0x80 | ((c >> 6) & 0x3F)));
            crc = crc_byte(crc, (unsigned char)(0x80 | (c & 0x3F)));
        }
    }
    return crc ^ 0xFFFFFFFFu;
}

/* Whether a surface is punctuation, which makes no word features: it starts with one of "!?.…;". */
static inline int is_punct(PyObject *surface) {
    if (PyUnicode_GET_LENGTH(surface) == 0)
        return 0;
    Py_UCS4 c = PyUnicode_READ_CHAR(surface, 0);
    return c == '!' || c == '?' || c == '.' || c == 0x2026 || c == ';';
}

/* The word feature buckets of `surfaces` into out (3 per word at most), in the order of features.word_buckets;
 * returns how many, or -1 with an exception set. */
static Py_ssize_t word_features(PyObject *surfaces, uint64_t language_salt, const Hashing *h, uint64_t *out) {
    Py_ssize_t n = PyList_GET_SIZE(surfaces), count = 0;
    uint64_t previous = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *surface = PyList_GET_ITEM(surfaces, i);
        if (!PyUnicode_Check(surface)) {
            PyErr_SetString(PyExc_TypeError, "surfaces must be a list of str");
            return -1;
        }
        if (ENSURE_READY(surface) < 0)
            return -1;
        if (is_punct(surface))
            continue;
        uint64_t key = word_crc(surface);
        out[count++] = bucket(key, h->unigram, h);
        out[count++] = bucket(key, language_salt, h);
        if (previous)
            out[count++] = bucket(previous * h->prime + key, h->bigram, h);
        previous = key;
    }
    return count;
}

/* word_buckets(surfaces, language_salt, hashing) -> list[int]: as features.word_buckets. */
static PyObject *word_buckets(PyObject *self, PyObject *args) {
    PyObject *surfaces, *spec;
    unsigned long long language_salt;
    Hashing h;
    if (!PyArg_ParseTuple(args, "O!KO!", &PyList_Type, &surfaces, &language_salt, &PyTuple_Type, &spec)
        || read_hashing(spec, &h) < 0)
        return NULL;
    Py_ssize_t n = PyList_GET_SIZE(surfaces);
    uint64_t *buckets = PyMem_Malloc((size_t)(3 * n + 1) * sizeof(uint64_t));
    if (buckets == NULL)
        return PyErr_NoMemory();
    Py_ssize_t count = word_features(surfaces, (uint64_t)language_salt, &h, buckets);
    PyObject *out = count >= 0 ? bucket_list(buckets, count) : NULL;
    PyMem_Free(buckets);
    return out;
}

typedef struct {
    const float *rows;
    Py_ssize_t n_rows, width;
    double *acc;
} Rows;

static inline int add_row(Rows *r, long long index, double value) {
    if (index < 0 || index >= r->n_rows) {
        PyErr_Format(PyExc_IndexError, "feature row %lld outside the model's %zd rows", index, r->n_rows);
        return -1;
    }
    const float *row = r->rows + index * r->width;
    for (Py_ssize_t j = 0; j < r->width; j++)
        r->acc[j] += value * (double)row[j];
    return 0;
}

/* Adds the rows of a list of int indices (each plus `offset`), each times `value` (or times values[i]). */
static int add_rows(Rows *r, PyObject *indices, long long offset, double value, PyObject *values) {
    if (!PyList_Check(indices)) {
        PyErr_SetString(PyExc_TypeError, "row indices must be a list of int");
        return -1;
    }
    Py_ssize_t n = PyList_GET_SIZE(indices);
    if (values != NULL && (!PyList_Check(values) || PyList_GET_SIZE(values) != n)) {
        PyErr_SetString(PyExc_TypeError, "values must be a list of float, one per index");
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        long long index = PyLong_AsLongLong(PyList_GET_ITEM(indices, i));
        if (index == -1 && PyErr_Occurred())
            return -1;
        double v = value;
        if (values != NULL) {
            /* The numpy version holds every feature value as float32. */
            v = (double)(float)PyFloat_AsDouble(PyList_GET_ITEM(values, i));
            if (v == -1.0 && PyErr_Occurred())
                return -1;
        }
        if (add_row(r, index + offset, v) < 0)
            return -1;
    }
    return 0;
}

/* scores(rows, bias, hashing, text, surfaces, language_salt, dense_slots, dense_values, vector_rows, vector_offset)
 *   -> list[float]
 *
 * bias + the rows of `text`'s character n-grams, each times 1/sqrt(their number), + the rows of the word features
 * of `surfaces` (features.word_buckets), each times 1/sqrt((their number + 1) // 3), + dense_values[i] times the row
 * dense_slots[i], + the mean of the rows vector_offset + vector_rows[i]: what
 * `LinearModel.scores(*features.vector(parts), vector_rows)` computes. */
static PyObject *scores(PyObject *self, PyObject *args) {
    PyObject *rows_obj, *bias_obj, *spec, *text, *surfaces, *dense_slots, *dense_values, *vector_rows;
    unsigned long long language_salt;
    long long vector_offset;
    Hashing h;
    if (!PyArg_ParseTuple(args, "OOO!UO!KOOOL", &rows_obj, &bias_obj, &PyTuple_Type, &spec, &text, &PyList_Type,
                          &surfaces, &language_salt, &dense_slots, &dense_values, &vector_rows, &vector_offset)
        || read_hashing(spec, &h) < 0)
        return NULL;
    Py_buffer rows_view, bias_view;
    if (PyObject_GetBuffer(rows_obj, &rows_view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
        return NULL;
    if (PyObject_GetBuffer(bias_obj, &bias_view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) {
        PyBuffer_Release(&rows_view);
        return NULL;
    }
    PyObject *out = NULL;
    double *acc = NULL;
    uint64_t *chars = NULL, *words = NULL;
    if (rows_view.ndim != 2 || rows_view.itemsize != 4 || strcmp(rows_view.format, "f") != 0
        || bias_view.ndim != 1 || bias_view.itemsize != 4 || strcmp(bias_view.format, "f") != 0
        || bias_view.shape[0] != rows_view.shape[1]) {
        PyErr_SetString(PyExc_TypeError, "rows must be a C-contiguous float32 matrix and bias float32, one per column");
        goto done;
    }
    Rows r = {(const float *)rows_view.buf, rows_view.shape[0], rows_view.shape[1], NULL};
    acc = PyMem_Calloc((size_t)r.width, sizeof(double));
    if (acc == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    r.acc = acc;

    Py_ssize_t n_char;
    chars = char_ngram_buckets(text, &h, &n_char);
    if (chars == NULL)
        goto done;
    if (n_char) {
        double value = (double)(float)(1.0 / sqrt((double)n_char));
        for (Py_ssize_t i = 0; i < n_char; i++)
            if (add_row(&r, (long long)chars[i], value) < 0)
                goto done;
    }
    words = PyMem_Malloc((size_t)(3 * PyList_GET_SIZE(surfaces) + 1) * sizeof(uint64_t));
    if (words == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t n_words = word_features(surfaces, (uint64_t)language_salt, &h, words);
    if (n_words < 0)
        goto done;
    if (n_words) {
        /* 1/sqrt(number of words): each word brings two unigram features and a bigram with the word before it. */
        double value = (double)(float)(1.0 / sqrt((double)((n_words + 1) / 3)));
        for (Py_ssize_t i = 0; i < n_words; i++)
            if (add_row(&r, (long long)words[i], value) < 0)
                goto done;
    }
    if (add_rows(&r, dense_slots, 0, 0.0, dense_values) < 0)
        goto done;
    if (!PyList_Check(vector_rows)) {
        PyErr_SetString(PyExc_TypeError, "vector_rows must be a list of int");
        goto done;
    }
    Py_ssize_t n_vectors = PyList_GET_SIZE(vector_rows);
    if (n_vectors && add_rows(&r, vector_rows, vector_offset, (double)(float)(1.0 / (double)n_vectors), NULL) < 0)
        goto done;

    out = PyList_New(r.width);
    if (out == NULL)
        goto done;
    const float *bias = (const float *)bias_view.buf;
    for (Py_ssize_t j = 0; j < r.width; j++) {
        PyObject *f = PyFloat_FromDouble(acc[j] + (double)bias[j]);
        if (f == NULL) {
            Py_CLEAR(out);
            goto done;
        }
        PyList_SET_ITEM(out, j, f);
    }
done:
    PyMem_Free(words);
    PyMem_Free(chars);
    PyMem_Free(acc);
    PyBuffer_Release(&bias_view);
    PyBuffer_Release(&rows_view);
    return out;
}

static PyMethodDef methods[] = {
    {"char_buckets", char_buckets, METH_VARARGS,
     "char_buckets(text, hashing) -> list[int]: the character n-gram buckets of text, all n = 2 first."},
    {"word_buckets", word_buckets, METH_VARARGS,
     "word_buckets(surfaces, language_salt, hashing) -> list[int]: the word feature buckets of the surfaces."},
    {"scores", scores, METH_VARARGS,
     "scores(rows, bias, hashing, text, surfaces, language_salt, dense_slots, dense_values, vector_rows, "
     "vector_offset) -> list[float]"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_speedups", "The learned analyser's per-post scoring in C (optional).", -1, methods,
};

/* Raised whenever the interface changes, so that linear.py leaves a stale build (an editable install not rebuilt
 * after an update) unused rather than calling it with the wrong arguments. */
#define INTERFACE_VERSION 2

PyMODINIT_FUNC PyInit__speedups(void) {
    init_crc_table();
    PyObject *m = PyModule_Create(&module);
    if (m != NULL && PyModule_AddIntConstant(m, "VERSION", INTERFACE_VERSION) < 0)
        Py_CLEAR(m);
    return m;
}
