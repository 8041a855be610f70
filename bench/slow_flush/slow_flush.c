/*
 * Emulate slower durable storage for the benchmarks: every fsync/fdatasync waits SEAMLINE_FLUSH_DELAY_US
 * microseconds before the real flush. The process keeps running meanwhile (like a real slow disk: SQLite
 * releases the interpreter lock around its commit), and every target in the run pays the same delay.
 *
 *   cc -shared -fPIC -O2 -o /tmp/slow_flush.so bench/slow_flush/slow_flush.c -ldl
 *   LD_PRELOAD=/tmp/slow_flush.so SEAMLINE_FLUSH_DELAY_US=2000 seamline bench reserve ...
 *
 * The benchmark measures and reports the flush latency of its working directory (machine.flush_ms), so a
 * run says what storage it had. Only processes started with LD_PRELOAD are affected; PostgreSQL's server
 * is not (it flushes in its own process), so use it for the SQLite targets.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <time.h>

static long delay_us = -1;

static void wait_before_flush(void) {
    if (delay_us < 0) {
        const char *value = getenv("SEAMLINE_FLUSH_DELAY_US");
        delay_us = value ? atol(value) : 0;
    }
    if (delay_us > 0) {
        struct timespec pause = {delay_us / 1000000, (delay_us % 1000000) * 1000};
        while (nanosleep(&pause, &pause) != 0) {
        }
    }
}

int fsync(int fd) {
    static int (*real)(int) = NULL;
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    wait_before_flush();
    return real(fd);
}

int fdatasync(int fd) {
    static int (*real)(int) = NULL;
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    wait_before_flush();
    return real(fd);
}
