/*
 * writer.c - the single writer with group commit.
 *
 * Requests queue StoreJobs; the writer thread takes every queued job (up to
 * batch_max), runs them in one transaction, each in its own savepoint, and
 * commits once.  A job is reported done only after the commit returned, so
 * an acknowledged write survives a crash of the process (WAL, fsync per
 * commit with synchronous=FULL).  Under load, many requests share one
 * commit; alone, a request pays for one commit, as it would without
 * batching.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include "store/store_int.h"

static void run_batch(Store *s, StoreJob *batch)
{
    StoreConn *c = s->writer_conn;
    Err berr;
    err_init(&berr);
    int rc = store_begin(c, c->dialect->begin_write, &berr);
    for (StoreJob *j = batch; j; j = j->next) {
        if (rc) {
            j->rc = rc;
            j->err = berr;
            continue;
        }
        err_init(&j->err);
        if (store_step_cached(c, "SAVEPOINT job", &j->err)) {
            j->rc = j->err.code;
            continue;
        }
        j->rc = j->fn(c, j->data, &j->err);
        if (j->rc) {
            if (j->err.code == 0)
                err_set(&j->err, j->rc, NULL, NULL);
            if (!c->ops->in_transaction(c)) {
                /* The database rolled the whole transaction back (disk full,
                 * I/O error, a lost connection): the jobs before this one are
                 * lost too. */
                for (StoreJob *k = batch; k != j; k = k->next)
                    if (k->rc == 0) {
                        k->rc = ERR_UNAVAILABLE;
                        err_set(&k->err, ERR_UNAVAILABLE, NULL, "transaction rolled back: %s",
                                j->err.msg);
                    }
                rc = store_begin(c, c->dialect->begin_write, &berr);
                continue;
            }
            store_step_cached(c, "ROLLBACK TO job", NULL);
        }
        store_step_cached(c, "RELEASE job", NULL);
    }
    if (!rc && store_step_cached(c, "COMMIT", &berr)) {
        /* The batch is lost as a whole: tell every job that thought it succeeded. */
        store_exec(c, "ROLLBACK", NULL);
        for (StoreJob *j = batch; j; j = j->next) {
            if (j->rc == 0) {
                j->rc = ERR_UNAVAILABLE;
                err_init(&j->err);
                err_set(&j->err, ERR_UNAVAILABLE, NULL, "commit failed: %s", berr.msg);
            }
        }
    }
    s->commits++;
}

static void *writer_main(void *arg)
{
    Store *s = arg;
    pthread_setname_np(pthread_self(), "klammer-writer"); /* top -H, perf */
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->head && !s->stopping)
            pthread_cond_wait(&s->cv, &s->mu);
        if (!s->head && s->stopping)
            break;
        /* Take up to batch_max jobs. */
        StoreJob *batch = s->head, *last = s->head;
        int n = 1;
        while (last->next && n < s->batch_max)
            last = last->next, n++;
        s->head = last->next;
        if (!s->head)
            s->tail = NULL;
        last->next = NULL;
        pthread_mutex_unlock(&s->mu);

        run_batch(s, batch);
        for (StoreJob *j = batch; j;) {
            StoreJob *next = j->next; /* done() may free the job */
            j->next = NULL;
            j->done(j);
            j = next;
        }

        pthread_mutex_lock(&s->mu);
        s->jobs += (uint64_t)n;
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

int store_writer_start(Store *s, Err *err)
{
    if (pthread_create(&s->writer, NULL, writer_main, s) != 0) {
        s->writer = 0;
        return err_set(err, ERR_INTERNAL, NULL, "cannot start the writer thread");
    }
    return 0;
}

void store_writer_stop(Store *s)
{
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->writer, NULL);
    s->writer = 0;
}

void store_submit(Store *s, StoreJob *job)
{
    job->next = NULL;
    pthread_mutex_lock(&s->mu);
    if (s->tail)
        s->tail->next = job;
    else
        s->head = job;
    s->tail = job;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

typedef struct Waiter {
    StoreJob job;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
} Waiter;

static void wake(StoreJob *job)
{
    Waiter *w = (Waiter *)job;
    pthread_mutex_lock(&w->mu);
    w->done = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

int store_run(Store *s, StoreJobFn fn, void *data, Err *err)
{
    Waiter w;
    memset(&w, 0, sizeof w);
    w.job.fn = fn;
    w.job.done = wake;
    w.job.data = data;
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    store_submit(s, &w.job);
    pthread_mutex_lock(&w.mu);
    while (!w.done)
        pthread_cond_wait(&w.cv, &w.mu);
    pthread_mutex_unlock(&w.mu);
    pthread_mutex_destroy(&w.mu);
    pthread_cond_destroy(&w.cv);
    if (w.job.rc && err && err->code == 0)
        *err = w.job.err;
    return w.job.rc;
}

void store_writer_stats(Store *s, uint64_t *jobs, uint64_t *commits)
{
    pthread_mutex_lock(&s->mu);
    *jobs = s->jobs;
    *commits = s->commits;
    pthread_mutex_unlock(&s->mu);
}
