/*
 * arena.c - region allocator with a cap (see arena.h).
 *
 * Blocks are chained newest first; a request that needs more than a block
 * gets a block of its own size.  Nothing is freed before arena_fini.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "util/arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK_SIZE 8192
#define ALIGN 16

struct ArenaBlock {
    ArenaBlock *next;
    size_t size; /* usable bytes in data */
    size_t off;  /* next free byte */
    _Alignas(ALIGN) unsigned char data[];
};

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "level=fatal msg=\"out of memory\" bytes=%zu\n", n);
        abort();
    }
    return p;
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) {
        fprintf(stderr, "level=fatal msg=\"out of memory\" bytes=%zu\n", n * size);
        abort();
    }
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fprintf(stderr, "level=fatal msg=\"out of memory\" bytes=%zu\n", n);
        abort();
    }
    return q;
}

char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(xmalloc(n), s, n);
}

void arena_init(Arena *a, size_t cap)
{
    a->head = NULL;
    a->used = 0;
    a->cap = cap;
}

void arena_fini(Arena *a)
{
    if (!a)
        return;
    ArenaBlock *b = a->head;
    while (b) {
        ArenaBlock *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
    a->used = 0;
}

void *arena_alloc(Arena *a, size_t n)
{
    size_t need = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    if (need < n || (a->cap && (need > a->cap || a->used > a->cap - need)))
        return NULL;
    ArenaBlock *b = a->head;
    if (!b || b->size - b->off < need) {
        size_t size = need > BLOCK_SIZE / 2 ? need : BLOCK_SIZE;
        ArenaBlock *nb = xmalloc(sizeof *nb + size);
        nb->size = size;
        nb->off = 0;
        if (b && need > BLOCK_SIZE / 2) {
            /* Keep filling the current block; put the big one behind it. */
            nb->next = b->next;
            b->next = nb;
        } else {
            nb->next = b;
            a->head = nb;
        }
        b = nb;
    }
    void *p = b->data + b->off;
    b->off += need;
    a->used += need;
    return p;
}

void *arena_zalloc(Arena *a, size_t n)
{
    void *p = arena_alloc(a, n);
    if (p)
        memset(p, 0, n);
    return p;
}

char *arena_strndup(Arena *a, const char *s, size_t n)
{
    if (n == SIZE_MAX)
        return NULL;
    char *p = arena_alloc(a, n + 1);
    if (!p)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *arena_strdup(Arena *a, const char *s)
{
    return arena_strndup(a, s, strlen(s));
}

char *arena_printf(Arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *p = arena_alloc(a, (size_t)n + 1);
    if (!p)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}
