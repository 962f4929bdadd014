/* The learned analyser's per-post scoring in C: the character n-gram hashing of `features._char_buckets` and the
 * sum of a post's weight rows that `LinearModel.scores` does in numpy.
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

typedef struct {
    uint64_t prime, mix;
    unsigned shift;
    Py_ssize_t count;     /* how many n (2, 3, ... count + 1) */
    uint64_t salt[MAX_N]; /* salt of n = i + 2 */
} Hashing;

static int read_hashing(PyObject *spec, Hashing *h) {
    /* spec: (prime, mix, shift, (salt of n=2, salt of n=3, ...)) */
    PyObject *salts;
    unsigned long long prime, mix;
    unsigned int shift;
    if (!PyArg_ParseTuple(spec, "KKIO!;hashing must be (prime, mix, shift, salts)", &prime, &mix, &shift,
                          &PyTuple_Type, &salts))
        return -1;
    h->prime = (uint64_t)prime;
    h->mix = (uint64_t)mix;
    h->shift = shift;
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

/* char_buckets(text, hashing) -> list[int]: the buckets of the character n-grams of `text`, all n = 2 first. */
static PyObject *char_buckets(PyObject *self, PyObject *args) {
    PyObject *text, *spec;
    Hashing h;
    if (!PyArg_ParseTuple(args, "UO!", &text, &PyTuple_Type, &spec) || read_hashing(spec, &h) < 0)
        return NULL;
    Py_ssize_t length;
    uint64_t *codes = code_points(text, &length);
    if (codes == NULL)
        return NULL;
    PyObject *out = PyList_New(0);
    if (out == NULL)
        goto done;
    /* The rolling hash of the n-grams starting at i is kept per i, as numpy keeps one array per n. */
    uint64_t *rolling = PyMem_Malloc((size_t)(length > 0 ? length : 1) * sizeof(uint64_t));
    if (rolling == NULL) {
        Py_CLEAR(out);
        PyErr_NoMemory();
        goto done;
    }
    memcpy(rolling, codes, (size_t)length * sizeof(uint64_t));
    for (Py_ssize_t k = 0; k < h.count; k++) {
        Py_ssize_t n = k + 2;
        for (Py_ssize_t i = 0; i + n <= length; i++) {
            rolling[i] = rolling[i] * h.prime + codes[i + n - 1];
            PyObject *bucket = PyLong_FromUnsignedLongLong(((rolling[i] ^ h.salt[k]) * h.mix) >> h.shift);
            if (bucket == NULL || PyList_Append(out, bucket) < 0) {
                Py_XDECREF(bucket);
                Py_CLEAR(out);
                break;
            }
            Py_DECREF(bucket);
        }
        if (out == NULL)
            break;
    }
    PyMem_Free(rolling);
done:
    PyMem_Free(codes);
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

/* scores(rows, bias, hashing, text, words, dense_slots, dense_values, vector_rows, vector_offset) -> list[float]
 *
 * bias + the rows of `text`'s character n-grams, each times 1/sqrt(their number), + the rows of `words`, each times
 * 1/sqrt((len(words) + 1) // 3), + dense_values[i] times the row dense_slots[i], + the mean of the rows
 * vector_offset + vector_rows[i]: what `LinearModel.scores(*features.extract(...), vector_rows)` computes. */
static PyObject *scores(PyObject *self, PyObject *args) {
    PyObject *rows_obj, *bias_obj, *spec, *text, *words, *dense_slots, *dense_values, *vector_rows;
    long long vector_offset;
    Hashing h;
    if (!PyArg_ParseTuple(args, "OOO!UOOOOL", &rows_obj, &bias_obj, &PyTuple_Type, &spec, &text, &words,
                          &dense_slots, &dense_values, &vector_rows, &vector_offset)
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
    uint64_t *codes = NULL;
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

    Py_ssize_t length;
    codes = code_points(text, &length);
    if (codes == NULL)
        goto done;
    Py_ssize_t n_char = ngram_count(length, &h);
    if (n_char) {
        double value = (double)(float)(1.0 / sqrt((double)n_char));
        for (Py_ssize_t i = 0; i < length; i++) {
            uint64_t rolling = codes[i];
            for (Py_ssize_t k = 0; k < h.count && i + k + 2 <= length; k++) {
                rolling = rolling * h.prime + codes[i + k + 1];
                if (add_row(&r, (long long)(((rolling ^ h.salt[k]) * h.mix) >> h.shift), value) < 0)
                    goto done;
            }
        }
    }
    if (!PyList_Check(words)) {
        PyErr_SetString(PyExc_TypeError, "words must be a list of int");
        goto done;
    }
    Py_ssize_t n_words = PyList_GET_SIZE(words);
    if (n_words) {
        double value = (double)(float)(1.0 / sqrt((double)((n_words + 1) / 3)));
        if (add_rows(&r, words, 0, value, NULL) < 0)
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
    PyMem_Free(codes);
    PyMem_Free(acc);
    PyBuffer_Release(&bias_view);
    PyBuffer_Release(&rows_view);
    return out;
}

static PyMethodDef methods[] = {
    {"char_buckets", char_buckets, METH_VARARGS,
     "char_buckets(text, hashing) -> list[int]: the character n-gram buckets of text, all n = 2 first."},
    {"scores", scores, METH_VARARGS,
     "scores(rows, bias, hashing, text, words, dense_slots, dense_values, vector_rows, vector_offset) -> list[float]"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_speedups", "The learned analyser's per-post scoring in C (optional).", -1, methods,
};

PyMODINIT_FUNC PyInit__speedups(void) { return PyModule_Create(&module); }
