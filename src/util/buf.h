/*
 * buf.h - a growable byte buffer, always NUL-terminated, malloc-backed.
 *
 * Response bodies are built in a Buf and handed to the HTTP layer, which
 * takes ownership of the bytes (buf_steal).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef KLAMMER_BUF_H
#define KLAMMER_BUF_H

#include <stddef.h>

typedef struct Buf {
    char *data; /* owned, NUL-terminated when cap > 0 */
    size_t len; /* bytes used, NUL excluded */
    size_t cap; /* bytes allocated */
} Buf;

/* Prepares an empty buffer (no allocation yet). */
void buf_init(Buf *b);

/* Frees the bytes; the buffer is empty afterwards.  Accepts NULL. */
void buf_fini(Buf *b);

/* Makes room for n more bytes.  data may move: pointers into it become invalid. */
void buf_reserve(Buf *b, size_t n);

/* Appends s[0..n); data may move. */
void buf_append(Buf *b, const void *s, size_t n);

/* Appends a NUL-terminated string. */
void buf_puts(Buf *b, const char *s);

/* Appends one byte (inline: serialisers call this per character). */
static inline void buf_putc(Buf *b, char c)
{
    if (b->cap - b->len < 2)
        buf_reserve(b, 1);
    b->data[b->len++] = c;
    b->data[b->len] = '\0';
}

/* printf-appends. */
void buf_printf(Buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Empties the buffer, keeping its memory. */
void buf_clear(Buf *b);

/* Returns the bytes (caller frees with free()) and leaves b empty. */
char *buf_steal(Buf *b, size_t *len);

#endif
