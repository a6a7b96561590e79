/*
 * gokpl._fastpath: what every record goes through, in C.
 *
 * Most records are put, get a SyncOutcome, are waited for once and dropped
 * within microseconds, so those steps are here, and the rest of the API
 * (checking arguments, waiting for room, errors, cancel, callbacks, repr,
 * reading result fields) is Python:
 *
 *  - quick_put() hands one record of str key and bytes data to
 *    gokpl_producer_put_quick and makes its SyncOutcome, or returns None for
 *    SyncProducer.put_record to take the full path (other types, a full
 *    producer, a bad record);
 *  - OutcomeBase(handle, dispatcher), the base of SyncOutcome in
 *    gokpl/_outcome.py, holds the native outcome handle, the state once
 *    known, the producer's callback dispatcher and the callbacks;
 *  - its done() and wait() read the state with one direct call of
 *    gokpl_outcome_state (no cffi wrapper) and make the RecordResult through
 *    the factory gokpl._result.lazy_result; a wait that must block is left to
 *    the subclass's _wait_pending;
 *  - dropping an outcome queues its handle here, and every 256th drop frees
 *    the queue with one gokpl_outcomes_free.
 *
 * The library's functions come as addresses from configure(), called once
 * the library is loaded, so this module does not link to it and serves cffi's
 * ABI mode (GOKPL_LIBRARY) as well. forget() drops them in a forked child,
 * where the Go runtime is gone; calls then raise ForkedProcessError.
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

#define RELEASE_BATCH 256
#define STATE_PENDING (-1)   /* not known to be resolved yet */
#define STATE_CANCELLED (-2) /* resolved locally by cancel() */
#define STATUS_PENDING 8     /* GOKPL_ERR_PENDING */
#define STATUS_CANCELLED 9   /* GOKPL_ERR_CANCELLED */

typedef int64_t (*state_fn)(uint64_t outcome);
typedef int32_t (*free_fn)(const uint64_t *outcomes, size_t count);
typedef int64_t (*put_fn)(uint64_t producer, const char *stream, size_t stream_len, const char *key,
                          size_t key_len, const char *data, size_t data_len);

/* What configure() hands over; NULL before it and after forget(). */
static state_fn outcome_state;
static free_fn outcomes_free;
static put_fn producer_put_quick;
static PyTypeObject *outcome_class; /* SyncOutcome, from set_outcome_class() */
static PyObject *lazy_result;     /* lazy_result(success, outcome) -> RecordResult */
static PyObject *raise_for;       /* raise_for(status): raises the status's exception */
static PyObject *unavailable;     /* unavailable(): raises why the library cannot be used */
static PyObject *cancelled_error; /* SyncOutcomeCancelled */
static PyObject *cancelled_state; /* what _state reads after cancel() */
static PyObject *check_timeout;   /* check_timeout(value): raises for a timeout wait() does not take */

static PyTypeObject *outcome_base; /* OutcomeBase */

/* Handles of dropped outcomes, freed together. */
static uint64_t released[RELEASE_BATCH];
static size_t released_count;

typedef struct {
    PyObject_HEAD
    uint64_t handle;
    int64_t state; /* STATE_PENDING, STATE_CANCELLED, or (attempts << 1 | success) */
    PyObject *dispatcher;
    PyObject *callbacks;
    PyObject *weakrefs;
} Outcome;

static void free_released_handles(void)
{
    if (released_count > 0 && outcomes_free != NULL)
        outcomes_free(released, released_count);
    released_count = 0;
}

static PyObject *new_outcome(PyTypeObject *type, uint64_t handle, PyObject *dispatcher);

static PyObject *Outcome_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    if (kwargs != NULL && PyDict_Size(kwargs) != 0) {
        PyErr_SetString(PyExc_TypeError, "SyncOutcome takes no keyword arguments");
        return NULL;
    }
    if (PyTuple_Size(args) != 2) {
        PyErr_SetString(PyExc_TypeError, "SyncOutcome(handle, dispatcher)");
        return NULL;
    }
    unsigned long long handle = PyLong_AsUnsignedLongLong(PyTuple_GetItem(args, 0));
    if (handle == (unsigned long long)-1 && PyErr_Occurred())
        return NULL;
    return new_outcome(type, handle, PyTuple_GetItem(args, 1));
}

static PyObject *new_outcome(PyTypeObject *type, uint64_t handle, PyObject *dispatcher)
{
    allocfunc alloc = (allocfunc)PyType_GetSlot(type, Py_tp_alloc);
    Outcome *self = (Outcome *)alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->handle = handle;
    self->state = STATE_PENDING;
    self->dispatcher = dispatcher;
    Py_INCREF(self->dispatcher);
    /* Nothing a new outcome refers to can lead back to it (the dispatcher
     * refers to outcomes only while they have callbacks), so the cycle
     * collector need not visit it, and would, in a long full collection
     * with hundreds of thousands of outcomes outstanding, every time.
     * Setting callbacks tracks it. */
    PyObject_GC_UnTrack(self);
    return (PyObject *)self;
}

static int Outcome_traverse(Outcome *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->dispatcher);
    Py_VISIT(self->callbacks);
    return 0;
}

static int Outcome_clear(Outcome *self)
{
    Py_CLEAR(self->dispatcher);
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

/* Whether configure() ran, so the helpers exist; an outcome made by hand
 * before the library was loaded gets an error instead of a crash. */
static int configured(void)
{
    if (lazy_result == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "gokpl: the library is not loaded");
        return 0;
    }
    return 1;
}

/* Learn the state from the library unless known. Returns 1 once resolved or
 * cancelled, 0 while pending, -1 with an exception set. */
static int read_state(Outcome *self)
{
    if (self->state != STATE_PENDING)
        return 1;
    if (outcome_state == NULL) {
        if (!configured())
            return -1;
        PyObject *r = PyObject_CallObject(unavailable, NULL);
        Py_XDECREF(r);
        return -1;
    }
    int64_t state = outcome_state(self->handle);
    if (state >= 0) {
        self->state = state;
        return 1;
    }
    if (state == -STATUS_PENDING)
        return 0;
    if (state == -STATUS_CANCELLED) {
        self->state = STATE_CANCELLED;
        return 1;
    }
    PyObject *r = PyObject_CallFunction(raise_for, "L", (long long)-state);
    Py_XDECREF(r);
    if (!PyErr_Occurred())
        PyErr_Format(PyExc_RuntimeError, "gokpl: outcome state %lld", (long long)state);
    return -1;
}

static PyObject *make_result(Outcome *self)
{
    if (!configured())
        return NULL;
    if (self->state == STATE_CANCELLED) {
        PyErr_SetString(cancelled_error, "the outcome was cancelled (SyncOutcome.cancel)");
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
    if (!configured())
        return -1;
    PyObject *r = PyObject_CallFunctionObjArgs(check_timeout, timeout, NULL);
    if (r == NULL)
        return -1;
    Py_DECREF(r);
    return 0;
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
    if (resolved < 0)
        return NULL;
    if (!resolved)
        return PyObject_CallMethod((PyObject *)self, "_wait_pending", "O", timeout);
    return make_result(self);
}

/* The known state as _state shows it: None while pending, the cancelled
 * marker, or the packed state. */
static PyObject *state_object(Outcome *self)
{
    if (self->state == STATE_PENDING)
        Py_RETURN_NONE;
    if (self->state == STATE_CANCELLED) {
        if (!configured())
            return NULL;
        Py_INCREF(cancelled_state);
        return cancelled_state;
    }
    return PyLong_FromLongLong(self->state);
}

static PyObject *Outcome_read_state(Outcome *self, PyObject *unused)
{
    if (read_state(self) < 0)
        return NULL;
    return state_object(self);
}

static PyObject *Outcome_result(Outcome *self, PyObject *unused)
{
    if (self->state == STATE_PENDING) {
        PyErr_SetString(PyExc_RuntimeError, "gokpl: the outcome is not resolved");
        return NULL;
    }
    return make_result(self);
}

static PyObject *Outcome_mark_cancelled(Outcome *self, PyObject *unused)
{
    self->state = STATE_CANCELLED;
    Py_RETURN_NONE;
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

static PyObject *Outcome_get_state(Outcome *self, void *closure)
{
    return state_object(self);
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
    {"_read_state", (PyCFunction)Outcome_read_state, METH_NOARGS,
     "The state, read from the library unless known: None while pending, the\n"
     "cancelled marker, or the packed state (attempts << 1 | success)."},
    {"_result", (PyCFunction)Outcome_result, METH_NOARGS,
     "The RecordResult of a resolved outcome (raises SyncOutcomeCancelled)."},
    {"_mark_cancelled", (PyCFunction)Outcome_mark_cancelled, METH_NOARGS,
     "Record that cancel() resolved the outcome."},
    {NULL},
};

static PyMemberDef Outcome_members[] = {
    {"_handle", T_ULONGLONG, offsetof(Outcome, handle), READONLY, "the native outcome handle"},
    {"_dispatcher", T_OBJECT, offsetof(Outcome, dispatcher), READONLY, "the producer's CallbackDispatcher"},
    {"__weaklistoffset__", T_PYSSIZET, offsetof(Outcome, weakrefs), READONLY},
    {NULL},
};

static PyGetSetDef Outcome_getset[] = {
    {"_callbacks", (getter)Outcome_get_callbacks, (setter)Outcome_set_callbacks,
     "None, the callbacks to run, or the fired marker (tracked by the cycle collector once set)", NULL},
    {"_state", (getter)Outcome_get_state, NULL,
     "None while not known to be resolved, the cancelled marker, or the packed state", NULL},
    {NULL},
};

static PyType_Slot Outcome_slots[] = {
    {Py_tp_doc, "The C half of SyncOutcome: handle, state, done(), wait() and release."},
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

static void *address(PyObject *value)
{
    return PyLong_AsVoidPtr(value);
}

static PyObject *configure(PyObject *module, PyObject *args)
{
    PyObject *state_address, *free_address, *put_address, *factory, *raiser, *unusable, *cancelled, *marker,
        *timeout_checker;
    if (!PyArg_ParseTuple(args, "OOOOOOOOO:configure", &state_address, &free_address, &put_address, &factory,
                          &raiser, &unusable, &cancelled, &marker, &timeout_checker))
        return NULL;
    state_fn state = (state_fn)address(state_address);
    free_fn release = (free_fn)address(free_address);
    put_fn put = (put_fn)address(put_address);
    if (PyErr_Occurred())
        return NULL;
    if (state == NULL || release == NULL || put == NULL) {
        PyErr_SetString(PyExc_ValueError, "configure: NULL function address");
        return NULL;
    }
    PyObject **refs[] = {&lazy_result, &raise_for, &unavailable, &cancelled_error, &cancelled_state, &check_timeout};
    PyObject *values[] = {factory, raiser, unusable, cancelled, marker, timeout_checker};
    for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
        PyObject *old = *refs[i];
        Py_INCREF(values[i]);
        *refs[i] = values[i];
        Py_XDECREF(old);
    }
    outcome_state = state;
    outcomes_free = release;
    producer_put_quick = put;
    Py_RETURN_NONE;
}

static PyObject *set_outcome_class(PyObject *module, PyObject *cls)
{
    if (!PyType_Check(cls) || !PyType_IsSubtype((PyTypeObject *)cls, outcome_base)) {
        PyErr_SetString(PyExc_TypeError, "set_outcome_class: not a subclass of OutcomeBase");
        return NULL;
    }
    Py_INCREF(cls);
    Py_XDECREF(outcome_class);
    outcome_class = (PyTypeObject *)cls;
    Py_RETURN_NONE;
}

/* quick_put(producer, stream, partition_key, data, dispatcher): put one
 * record without waiting and return its SyncOutcome, or None when the full
 * path must decide (a key that is not exactly str, data that is not exactly
 * bytes, a key that cannot be UTF-8, a full producer, a bad record). */
static PyObject *quick_put(PyObject *module, PyObject *args)
{
    if (PyTuple_Size(args) != 5) {
        PyErr_SetString(PyExc_TypeError, "quick_put(producer, stream, partition_key, data, dispatcher)");
        return NULL;
    }
    PyObject *stream = PyTuple_GetItem(args, 1), *key = PyTuple_GetItem(args, 2), *data = PyTuple_GetItem(args, 3);
    if (producer_put_quick == NULL || outcome_class == NULL || !PyBytes_CheckExact(stream) ||
        !PyUnicode_CheckExact(key) || !PyBytes_CheckExact(data))
        Py_RETURN_NONE;
    unsigned long long producer = PyLong_AsUnsignedLongLong(PyTuple_GetItem(args, 0));
    if (producer == (unsigned long long)-1 && PyErr_Occurred())
        return NULL;
    PyObject *key_bytes = PyUnicode_AsUTF8String(key);
    if (key_bytes == NULL) {
        PyErr_Clear(); /* a lone surrogate: the full path says what is wrong */
        Py_RETURN_NONE;
    }
    char *stream_p, *key_p, *data_p;
    Py_ssize_t stream_n, key_n, data_n;
    if (PyBytes_AsStringAndSize(stream, &stream_p, &stream_n) < 0 ||
        PyBytes_AsStringAndSize(key_bytes, &key_p, &key_n) < 0 || PyBytes_AsStringAndSize(data, &data_p, &data_n) < 0) {
        Py_DECREF(key_bytes);
        return NULL;
    }
    int64_t handle = producer_put_quick(producer, stream_p, (size_t)stream_n, key_p, (size_t)key_n, data_p,
                                        (size_t)data_n);
    Py_DECREF(key_bytes);
    if (handle <= 0)
        Py_RETURN_NONE;
    return new_outcome(outcome_class, (uint64_t)handle, PyTuple_GetItem(args, 4));
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

static PyObject *pending_releases(PyObject *module, PyObject *unused)
{
    return PyLong_FromSize_t(released_count);
}

static PyMethodDef module_methods[] = {
    {"configure", configure, METH_VARARGS,
     "configure(state_address, free_address, put_address, lazy_result, raise_for, unavailable, "
     "cancelled_error, cancelled_state, check_timeout): the library's gokpl_outcome_state, "
     "gokpl_outcomes_free and gokpl_producer_put_quick, and the Python helpers used to make results, "
     "raise errors and check timeouts."},
    {"set_outcome_class", set_outcome_class, METH_O, "The OutcomeBase subclass quick_put makes (SyncOutcome)."},
    {"quick_put", quick_put, METH_VARARGS,
     "quick_put(producer, stream, partition_key, data, dispatcher): put one record (str key, bytes data)\n"
     "without waiting and return its SyncOutcome, or None for the full path to decide."},
    {"forget", forget, METH_NOARGS, "Drop the library's functions and the queued handles (a forked child)."},
    {"free_released", free_released, METH_NOARGS, "Free the handles of dropped outcomes queued so far."},
    {"pending_releases", pending_releases, METH_NOARGS, "How many dropped outcomes' handles wait to be freed."},
    {NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "gokpl._fastpath",
    .m_doc = "What every record goes through, in C (see gokpl/_fastpath.c).",
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
