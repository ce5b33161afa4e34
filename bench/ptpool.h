/* SPDX-License-Identifier: (GPL-2.0 OR MIT) */
/*
 * The thread pool a C programmer writes by hand: N threads, one mutex,
 * two condition variables, a ring of jobs and a ring of finished ones.
 * The baseline the user-function contenders are measured against.
 */
#ifndef KPOOL_BENCH_PTPOOL_H
#define KPOOL_BENCH_PTPOOL_H

#include <pthread.h>

#define PTPOOL_RING	4096	/* jobs in flight at most */
#define PTPOOL_THREADS	16

typedef void (*ptpool_fn)(void *arg);

struct ptpool {
	pthread_mutex_t lock;
	pthread_cond_t work;		/* a job was queued, or stop */
	pthread_cond_t done;		/* a job finished */
	struct { ptpool_fn fn; void *arg; } jobs[PTPOOL_RING];
	void *finished[PTPOOL_RING];
	unsigned int head, tail;	/* jobs: taken at head, added at tail */
	unsigned int fhead, ftail;	/* finished, the same way */
	int stop;
	unsigned int nthreads;
	pthread_t threads[PTPOOL_THREADS];
};

static void *ptpool_thread(void *arg)
{
	struct ptpool *p = arg;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		ptpool_fn fn;
		void *job;

		while (p->head == p->tail && !p->stop)
			pthread_cond_wait(&p->work, &p->lock);
		if (p->head == p->tail)
			break;
		fn = p->jobs[p->head % PTPOOL_RING].fn;
		job = p->jobs[p->head % PTPOOL_RING].arg;
		p->head++;
		pthread_mutex_unlock(&p->lock);
		fn(job);
		pthread_mutex_lock(&p->lock);
		p->finished[p->ftail++ % PTPOOL_RING] = job;
		pthread_cond_signal(&p->done);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

static inline int ptpool_start(struct ptpool *p, unsigned int nthreads)
{
	unsigned int i;

	memset(p, 0, sizeof(*p));
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->done, NULL);
	for (i = 0; i < nthreads && i < PTPOOL_THREADS; i++) {
		if (pthread_create(&p->threads[i], NULL, ptpool_thread, p))
			return -1;
		p->nthreads++;
	}
	return 0;
}

static inline void ptpool_submit(struct ptpool *p, ptpool_fn fn, void *arg)
{
	pthread_mutex_lock(&p->lock);
	p->jobs[p->tail % PTPOOL_RING].fn = fn;
	p->jobs[p->tail % PTPOOL_RING].arg = arg;
	p->tail++;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->lock);
}

/* Wait for the next job to finish; returns its argument. */
static inline void *ptpool_wait_one(struct ptpool *p)
{
	void *job;

	pthread_mutex_lock(&p->lock);
	while (p->fhead == p->ftail)
		pthread_cond_wait(&p->done, &p->lock);
	job = p->finished[p->fhead++ % PTPOOL_RING];
	pthread_mutex_unlock(&p->lock);
	return job;
}

static inline void ptpool_stop(struct ptpool *p)
{
	unsigned int i;

	pthread_mutex_lock(&p->lock);
	p->stop = 1;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	for (i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->done);
}

#endif /* KPOOL_BENCH_PTPOOL_H */
