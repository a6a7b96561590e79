/*
 * gokpl._fastpath: the three steps every record takes, in C.
 *
 * Most records are put, waited for once and dropped within microseconds.
 * Against the same steps in Python, these are worth C, and nothing else is:
 *
 *  - quick_put() hands one record (str key, bytes or bytearray data) to
 *    gokpl_producer_put_quick and makes its SyncOutcome;
 *  - OutcomeBase, the base of SyncOutcome (gokpl/_outcome.py, where the
 *    class and the rest of its behaviour are), holds the outcome handle and
 *    its state, and its done() and wait() read the state with one direct
 *    call of gokpl_outcome_state;
 *  - dropping an outcome queues its handle, and every 256th drop frees the
 *    queue with one gokpl_outcomes_free.
 *
 * The state is gokpl_outcome_state's value, kept once final: attempts << 1 |
 * success when resolved, -GOKPL_ERR_CANCELLED when cancelled, and
 * -GOKPL_ERR_PENDING until either is read.
 *
 * The library's functions come as addresses from configure(), called once
 * the library is loaded, so this module links to no library of ours and
 * serves cffi's ABI mode (GOKPL_LIBRARY) as well; forget() drops them in a
 * forked child, where the Go runtime is gone. Their types, and the status
 * codes, come from gokpl.h itself. Python is called only through the
 * functions bind() hands over: the result factory, the sliced wait for a
 * pending outcome, the status table, the timeout rule and the error for a
 * library that cannot be used.
 *
 * Concurrency: every entry point runs with the GIL held, which guards the
 * queue of released handles. The three library functions called here never
 * block, so the GIL is kept through them.
 *
 * Built against CPython's stable ABI (3.9 and later).
 */

#define Py_LIMITED_API 0x03090000
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <math.h>
#include <stdint.h>

#include "gokpl.h"

#define RELEASE_BATCH 256
#define STATE_PENDING (-(int64_t)GOKPL_ERR_PENDING)
#define STATE_CANCELLED (-(int64_t)GOKPL_ERR_CANCELLED)

/* Pointers to the library's functions, typed by their declarations in gokpl.h. */
typedef __typeof__(&gokpl_outcome_state) state_fn;
typedef __typeof__(&gokpl_outcomes_free) free_fn;
typedef __typeof__(&gokpl_producer_put_quick) put_fn;

/* What configure() hands over; NULL before it and after forget(). */
static state_fn outcome_state;
static free_fn outcomes_free;
static put_fn producer_put_quick;

/* What bind() hands over; NULL before it. */
static PyTypeObject *outcome_class; /* SyncOutcome */
static PyObject *lazy_result;       /* lazy_result(success, outcome) -> RecordResult */
static PyObject *wait_until_done;   /* wait_until_done(handle, timeout): the sliced wait, raises on timeout */
static PyObject *raise_for;         /* raise_for(status): raises the status's exception */
static PyObject *check_timeout;     /* check_timeout(value): raises for a timeout wait() does not take */
static PyObject *unavailable;       /* unavailable(): raises why the library cannot be used */

static PyTypeObject *outcome_base; /* OutcomeBase */

/* Handles of dropped outcomes, freed together. */
static gokpl_outcome released[RELEASE_BATCH];
static size_t released_count;

typedef struct {
    PyObject_HEAD
    gokpl_outcome handle;
    int64_t state; /* see the top of this file */
    PyObject *completions;
    PyObject *callbacks;
    PyObject *weakrefs;
} Outcome;

static void free_released_handles(void)
{
    if (released_count > 0 && outcomes_free != NULL)
        outcomes_free(released, released_count);
    released_count = 0;
}

/* Whether bind() ran; an outcome used before gets an error instead of a crash. */
static int bound(void)
{
    if (lazy_result == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "gokpl: gokpl._outcome is not imported");
        return 0;
    }
    return 1;
}

/* Calls fn(arg...) for the exception it raises; -1 with an exception set. */
static int raise_through(PyObject *fn, PyObject *arg)
{
    PyObject *r = arg == NULL ? PyObject_CallObject(fn, NULL) : PyObject_CallFunctionObjArgs(fn, arg, NULL);
    Py_XDECREF(r);
    if (!PyErr_Occurred())
        PyErr_SetString(PyExc_RuntimeError, "gokpl: expected an exception");
    return -1;
}

static int raise_status(int64_t status)
{
    PyObject *code = PyLong_FromLongLong(status);
    if (code == NULL)
        return -1;
    raise_through(raise_for, code);
    Py_DECREF(code);
    return -1;
}

static PyObject *new_outcome(PyTypeObject *type, gokpl_outcome handle, PyObject *completions)
{
    allocfunc alloc = (allocfunc)PyType_GetSlot(type, Py_tp_alloc);
    Outcome *self = (Outcome *)alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->handle = handle;
    self->state = STATE_PENDING;
    self->completions = completions;
    Py_INCREF(self->completions);
    /* Nothing a new outcome refers to can lead back to it (the producer's
     * completions refer to outcomes only while they have callbacks), so the cycle
     * collector need not visit it, and would, in a long full collection
     * with hundreds of thousands of outcomes outstanding, every time.
     * Setting callbacks tracks it. */
    PyObject_GC_UnTrack(self);
    return (PyObject *)self;
}

static PyObject *Outcome_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    if ((kwargs != NULL && PyDict_Size(kwargs) != 0) || PyTuple_Size(args) != 2) {
        PyErr_SetString(PyExc_TypeError, "SyncOutcome(handle, completions)");
        return NULL;
    }
    unsigned long long handle = PyLong_AsUnsignedLongLong(PyTuple_GetItem(args, 0));
    if (handle == (unsigned long long)-1 && PyErr_Occurred())
        return NULL;
    return new_outcome(type, handle, PyTuple_GetItem(args, 1));
}

static int Outcome_traverse(Outcome *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->completions);
    Py_VISIT(self->callbacks);
    return 0;
}

static int Outcome_clear(Outcome *self)
{
    Py_CLEAR(self->completions);
    Py_CLEAR(self->callbacks);
    return 0;
}

static void Outcome_dealloc(Outcome *self)
{
    PyTypeObject *type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    if (self->weakrefs != NULL)
        PyObject_ClearWeakRefs((PyObject *)self);
    Outcome_clear(self);
    if (outcomes_free != NULL && self->handle != 0) {
        released[released_count++] = self->handle;
        if (released_count == RELEASE_BATCH)
            free_released_handles();
    }
    freefunc tp_free = (freefunc)PyType_GetSlot(type, Py_tp_free);
    tp_free(self);
    Py_DECREF(type);
}

/* Learns the state from the library unless it is final. Returns 1 once
 * resolved or cancelled, 0 while pending, -1 with an exception set. */
static int read_state(Outcome *self)
{
    if (self->state != STATE_PENDING)
        return 1;
    if (!bound())
        return -1;
    if (outcome_state == NULL)
        return raise_through(unavailable, NULL);
    int64_t state = outcome_state(self->handle);
    if (state == STATE_PENDING)
        return 0;
    if (state >= 0 || state == STATE_CANCELLED) {
        self->state = state;
        return 1;
    }
    return raise_status(-state);
}

/* The RecordResult of a resolved outcome; SyncOutcomeCancelled for a cancelled one. */
static PyObject *result_of(Outcome *self)
{
    if (self->state == STATE_CANCELLED) {
        raise_status(GOKPL_ERR_CANCELLED);
        return NULL;
    }
    PyObject *success = PyBool_FromLong(self->state & 1);
    PyObject *result = PyObject_CallFunctionObjArgs(lazy_result, success, (PyObject *)self, NULL);
    Py_DECREF(success);
    return result;
}

static PyObject *Outcome_done(Outcome *self, PyObject *unused)
{
    int resolved = read_state(self);
    if (resolved < 0)
        return NULL;
    return PyBool_FromLong(resolved);
}

/* 0 when wait() takes the timeout, -1 with the exception gokpl/_timeout.py's
 * rule raises. None, an int and a float other than NaN pass without a call. */
static int check_wait_timeout(PyObject *timeout)
{
    if (timeout == Py_None || PyLong_CheckExact(timeout))
        return 0;
    if (PyFloat_CheckExact(timeout) && !isnan(PyFloat_AsDouble(timeout)))
        return 0;
    if (!bound())
        return -1;
    PyObject *r = PyObject_CallFunctionObjArgs(check_timeout, timeout, NULL);
    if (r == NULL)
        return -1;
    Py_DECREF(r);
    return 0;
}

/* Blocks in wait_until_done's slices until the outcome is done; -1 with an
 * exception set (the timeout passed, an interrupt, a bad handle). */
static int wait_pending(Outcome *self, PyObject *timeout)
{
    PyObject *handle = PyLong_FromUnsignedLongLong(self->handle);
    if (handle == NULL)
        return -1;
    PyObject *r = PyObject_CallFunctionObjArgs(wait_until_done, handle, timeout, NULL);
    Py_DECREF(handle);
    if (r == NULL)
        return -1;
    Py_DECREF(r);
    int resolved = read_state(self);
    if (resolved == 0)
        return raise_status(GOKPL_ERR_PENDING);
    return resolved;
}

static PyObject *Outcome_wait(Outcome *self, PyObject *args, PyObject *kwargs)
{
    PyObject *timeout = Py_None;
    static char *keywords[] = {"timeout", NULL};
    if ((PyTuple_Size(args) != 0 || kwargs != NULL) &&
        !PyArg_ParseTupleAndKeywords(args, kwargs, "|O:wait", keywords, &timeout))
        return NULL;
    if (check_wait_timeout(timeout) < 0)
        return NULL;
    int resolved = read_state(self);
    if (resolved == 0)
        resolved = wait_pending(self, timeout);
    if (resolved < 0)
        return NULL;
    return result_of(self);
}

static PyObject *Outcome_get_callbacks(Outcome *self, void *closure)
{
    PyObject *callbacks = self->callbacks != NULL ? self->callbacks : Py_None;
    Py_INCREF(callbacks);
    return callbacks;
}

static int Outcome_set_callbacks(Outcome *self, PyObject *value, void *closure)
{
    PyObject *old = self->callbacks;
    self->callbacks = (value == NULL || value == Py_None) ? NULL : value;
    Py_XINCREF(self->callbacks);
    Py_XDECREF(old);
    if (self->callbacks != NULL && !PyObject_GC_IsTracked((PyObject *)self))
        PyObject_GC_Track(self); /* a callback may refer back to its outcome */
    return 0;
}

static PyMethodDef Outcome_methods[] = {
    {"done", (PyCFunction)Outcome_done, METH_NOARGS,
     "True once the record is resolved (or cancelled). Never blocks."},
    {"wait", (PyCFunction)(void (*)(void))Outcome_wait, METH_VARARGS | METH_KEYWORDS,
     "Block until the record resolves and return its RecordResult.\n\n"
     "``timeout`` is in seconds; None (or math.inf) waits without limit, a\n"
     "negative number as 0. Raises TimeoutError when it passes first, and\n"
     "SyncOutcomeCancelled after cancel(); TypeError for a timeout that is not a\n"
     "number, ValueError for NaN. Waits in native slices of at most 0.2 s, so\n"
     "KeyboardInterrupt arrives promptly."},
    {NULL},
};

static PyMemberDef Outcome_members[] = {
    {"_handle", T_ULONGLONG, offsetof(Outcome, handle), READONLY, "the native outcome handle"},
    {"_state", T_LONGLONG, offsetof(Outcome, state), READONLY,
     "gokpl_outcome_state's value as last read: attempts << 1 | success once resolved, "
     "-GOKPL_ERR_CANCELLED once cancelled, -GOKPL_ERR_PENDING until then"},
    {"_completions", T_OBJECT, offsetof(Outcome, completions), READONLY, "the producer's Completions"},
    {"__weaklistoffset__", T_PYSSIZET, offsetof(Outcome, weakrefs), READONLY},
    {NULL},
};

static PyGetSetDef Outcome_getset[] = {
    {"_callbacks", (getter)Outcome_get_callbacks, (setter)Outcome_set_callbacks,
     "None, the callbacks to run, or the fired marker (tracked by the cycle collector once set)", NULL},
    {NULL},
};

static PyType_Slot Outcome_slots[] = {
    {Py_tp_doc, "The C base of SyncOutcome: handle, state, done(), wait() and release."},
    {Py_tp_new, Outcome_new},
    {Py_tp_dealloc, Outcome_dealloc},
    {Py_tp_traverse, Outcome_traverse},
    {Py_tp_clear, Outcome_clear},
    {Py_tp_methods, Outcome_methods},
    {Py_tp_members, Outcome_members},
    {Py_tp_getset, Outcome_getset},
    {0, NULL},
};

static PyType_Spec Outcome_spec = {
    .name = "gokpl._fastpath.OutcomeBase",
    .basicsize = sizeof(Outcome),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .slots = Outcome_slots,
};

/* Stores value in *slot, keeping a reference. */
static void keep(PyObject **slot, PyObject *value)
{
    PyObject *old = *slot;
    Py_INCREF(value);
    *slot = value;
    Py_XDECREF(old);
}

static PyObject *bind(PyObject *module, PyObject *args)
{
    PyObject *cls, *factory, *waiter, *raiser, *checker, *unusable;
    if (!PyArg_ParseTuple(args, "OOOOOO:bind", &cls, &factory, &waiter, &raiser, &checker, &unusable))
        return NULL;
    if (!PyType_Check(cls) || !PyType_IsSubtype((PyTypeObject *)cls, outcome_base)) {
        PyErr_SetString(PyExc_TypeError, "bind: not a subclass of OutcomeBase");
        return NULL;
    }
    keep((PyObject **)&outcome_class, cls);
    keep(&lazy_result, factory);
    keep(&wait_until_done, waiter);
    keep(&raise_for, raiser);
    keep(&check_timeout, checker);
    keep(&unavailable, unusable);
    Py_RETURN_NONE;
}

static PyObject *configure(PyObject *module, PyObject *args)
{
    PyObject *state_address, *free_address, *put_address;
    if (!PyArg_ParseTuple(args, "OOO:configure", &state_address, &free_address, &put_address))
        return NULL;
    state_fn state = (state_fn)PyLong_AsVoidPtr(state_address);
    free_fn release = (free_fn)PyLong_AsVoidPtr(free_address);
    put_fn put = (put_fn)PyLong_AsVoidPtr(put_address);
    if (PyErr_Occurred())
        return NULL;
    if (state == NULL || release == NULL || put == NULL) {
        PyErr_SetString(PyExc_ValueError, "configure: NULL function address");
        return NULL;
    }
    outcome_state = state;
    outcomes_free = release;
    producer_put_quick = put;
    Py_RETURN_NONE;
}

/* data's bytes, for bytes and bytearray exactly; 0 for any other type. */
static int data_bytes(PyObject *data, char **p, Py_ssize_t *n)
{
    if (PyBytes_CheckExact(data))
        return PyBytes_AsStringAndSize(data, p, n) == 0;
    if (PyByteArray_CheckExact(data)) {
        *p = PyByteArray_AsString(data);
        *n = PyByteArray_Size(data);
        return 1;
    }
    return 0;
}

/* quick_put(producer, stream, partition_key, data, completions): puts one
 * record without waiting and returns its SyncOutcome, or None for
 * SyncProducer's one other route to take it: when the library declines it
 * (a full producer, a bad record), when the arguments are not the common
 * types (a key exactly str that has a UTF-8 form, data exactly bytes or
 * bytearray), or when the library is not there. */
static PyObject *quick_put(PyObject *module, PyObject *args)
{
    if (PyTuple_Size(args) != 5) {
        PyErr_SetString(PyExc_TypeError, "quick_put(producer, stream, partition_key, data, completions)");
        return NULL;
    }
    PyObject *stream = PyTuple_GetItem(args, 1), *key = PyTuple_GetItem(args, 2), *data = PyTuple_GetItem(args, 3);
    char *stream_p, *key_p, *data_p;
    Py_ssize_t stream_n, key_n, data_n;
    if (producer_put_quick == NULL || outcome_class == NULL || !PyBytes_CheckExact(stream) ||
        !PyUnicode_CheckExact(key) || !data_bytes(data, &data_p, &data_n))
        Py_RETURN_NONE;
    unsigned long long producer = PyLong_AsUnsignedLongLong(PyTuple_GetItem(args, 0));
    if (producer == (unsigned long long)-1 && PyErr_Occurred())
        return NULL;
    PyObject *key_bytes = PyUnicode_AsUTF8String(key);
    if (key_bytes == NULL) {
        PyErr_Clear(); /* a lone surrogate: the other route says what is wrong */
        Py_RETURN_NONE;
    }
    if (PyBytes_AsStringAndSize(stream, &stream_p, &stream_n) < 0 ||
        PyBytes_AsStringAndSize(key_bytes, &key_p, &key_n) < 0) {
        Py_DECREF(key_bytes);
        return NULL;
    }
    int64_t handle = producer_put_quick(producer, stream_p, (size_t)stream_n, key_p, (size_t)key_n,
                                        (const uint8_t *)data_p, (size_t)data_n);
    Py_DECREF(key_bytes);
    if (handle <= 0)
        Py_RETURN_NONE;
    return new_outcome(outcome_class, (gokpl_outcome)handle, PyTuple_GetItem(args, 4));
}

static PyObject *forget(PyObject *module, PyObject *unused)
{
    outcome_state = NULL;
    outcomes_free = NULL;
    producer_put_quick = NULL;
    released_count = 0;
    Py_RETURN_NONE;
}

static PyObject *free_released(PyObject *module, PyObject *unused)
{
    free_released_handles();
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"bind", bind, METH_VARARGS,
     "bind(outcome_class, lazy_result, wait_until_done, raise_for, check_timeout, unavailable): "
     "SyncOutcome, and the Python functions this module calls."},
    {"configure", configure, METH_VARARGS,
     "configure(state_address, free_address, put_address): the library's gokpl_outcome_state, "
     "gokpl_outcomes_free and gokpl_producer_put_quick, once it is loaded."},
    {"quick_put", quick_put, METH_VARARGS,
     "quick_put(producer, stream, partition_key, data, completions): put one record (str key, bytes or\n"
     "bytearray data) without waiting and return its SyncOutcome, or None for the other route to decide."},
    {"forget", forget, METH_NOARGS, "Drop the library's functions and the queued handles (a forked child)."},
    {"free_released", free_released, METH_NOARGS, "Free the handles of dropped outcomes queued so far."},
    {NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "gokpl._fastpath",
    .m_doc = "The steps every record takes, in C (see gokpl/_fastpath.c).",
    .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC PyInit__fastpath(void)
{
    PyObject *module = PyModule_Create(&module_def);
    if (module == NULL)
        return NULL;
    PyObject *type = PyType_FromSpec(&Outcome_spec);
    if (type == NULL) {
        Py_DECREF(module);
        return NULL;
    }
    outcome_base = (PyTypeObject *)type;
    Py_INCREF(type); /* one reference here, one in the module */
    if (PyModule_AddObject(module, "OutcomeBase", type) < 0) {
        Py_DECREF(type);
        Py_DECREF(module);
        return NULL;
    }
    PyModule_AddIntConstant(module, "RELEASE_BATCH", RELEASE_BATCH);
    return module;
}
