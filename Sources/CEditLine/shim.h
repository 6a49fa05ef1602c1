#ifndef BEAMSH_CEDITLINE_SHIM_H
#define BEAMSH_CEDITLINE_SHIM_H

#include <stdio.h>
#include <wchar.h>
#include <histedit.h>

// Swift cannot call C variadic functions, and el_set/el_get/history are variadic.
// These fixed-arity wrappers are the only way the LineEditor module calls them.

typedef char *(*beamsh_el_prompt_fn)(EditLine *);
typedef unsigned char (*beamsh_el_command_fn)(EditLine *, int);

static inline int beamsh_el_set_prompt(EditLine *el, beamsh_el_prompt_fn fn, char marker) {
    return el_set(el, EL_PROMPT_ESC, fn, marker);
}

static inline int beamsh_el_set_editor(EditLine *el, const char *mode) {
    return el_set(el, EL_EDITOR, mode);
}

static inline int beamsh_el_set_int(EditLine *el, int op, int value) {
    return el_set(el, op, value);
}

static inline int beamsh_el_set_clientdata(EditLine *el, void *data) {
    return el_set(el, EL_CLIENTDATA, data);
}

static inline void *beamsh_el_get_clientdata(EditLine *el) {
    void *data = NULL;
    if (el_get(el, EL_CLIENTDATA, &data) != 0) return NULL;
    return data;
}

static inline int beamsh_el_add_function(EditLine *el, const char *name, const char *help, beamsh_el_command_fn fn) {
    return el_set(el, EL_ADDFN, name, help, fn);
}

static inline int beamsh_el_bind(EditLine *el, const char *key, const char *command) {
    return el_set(el, EL_BIND, key, command, (const char *)NULL);
}

/// `el_set(el, EL_SETTY, "-d", setting, NULL)`: changes a terminal setting of the edit mode only.
static inline int beamsh_el_setty_edit(EditLine *el, const char *setting) {
    return el_set(el, EL_SETTY, "-d", setting, (const char *)NULL);
}

/// Replaces libedit's character reader (`EL_GETCFN`); NULL restores the built-in one.
static inline int beamsh_el_set_getcfn(EditLine *el, el_rfunc_t fn) {
    return el_set(el, EL_GETCFN, fn);
}

/// Redraws the prompt and the line being edited (`EL_REFRESH`), e.g. after text was written above them.
static inline int beamsh_el_refresh(EditLine *el) {
    return el_set(el, EL_REFRESH);
}

static inline int beamsh_el_set_history(EditLine *el, History *h) {
    return el_set(el, EL_HIST, history, h);
}

static inline int beamsh_history_setsize(History *h, int size) {
    HistEvent ev;
    return history(h, &ev, H_SETSIZE, size);
}

static inline int beamsh_history_enter(History *h, const char *line) {
    HistEvent ev;
    return history(h, &ev, H_ENTER, line);
}

static inline int beamsh_history_clear(History *h) {
    HistEvent ev;
    return history(h, &ev, H_CLEAR);
}

#endif
