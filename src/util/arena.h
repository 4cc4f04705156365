/*
 * arena.h - a region allocator: each request owns one, everything
 * request-scoped is allocated from it, and it is released once at the end.
 *
 * An arena has a byte cap.  Reaching it is an ordinary error (the allocation
 * returns NULL and the caller reports ERR_TOO_LARGE), not an abort, so a
 * hostile request cannot make the server use unbounded memory.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef KLAMMER_ARENA_H
#define KLAMMER_ARENA_H

#include <stddef.h>

typedef struct ArenaBlock ArenaBlock;

typedef struct Arena {
    ArenaBlock *head; /* current block, owned */
    size_t used;      /* bytes handed out in all blocks */
    size_t cap;       /* limit on used, 0 = no limit */
} Arena;

/* Prepares an empty arena with the given cap (0 = unlimited). */
void arena_init(Arena *a, size_t cap);

/* Releases every block; the arena may be reused after arena_init. Accepts NULL. */
void arena_fini(Arena *a);

/*
 * Returns n bytes aligned for any type, or NULL when the cap would be
 * exceeded.  Aborts (xmalloc) only when the system itself is out of memory.
 */
void *arena_alloc(Arena *a, size_t n);

/* arena_alloc then zero-fill. */
void *arena_zalloc(Arena *a, size_t n);

/* Copies s[0..n) into the arena and NUL-terminates it; NULL over the cap. */
char *arena_strndup(Arena *a, const char *s, size_t n);

/* arena_strndup(a, s, strlen(s)). */
char *arena_strdup(Arena *a, const char *s);

/* printf into the arena; NULL over the cap. */
char *arena_printf(Arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* malloc/realloc that abort with a log line when the system is out of memory. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

#endif
