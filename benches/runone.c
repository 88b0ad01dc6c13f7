/*
 * runone: runs one command and reports its wall time, exit status, peak RSS
 * and CPU time, for benches/bench.py.
 *
 *   runone RESULT_FILE STDOUT_FILE STDERR_FILE PROGRAM [ARG...]
 *
 * Writes "wall_ns exit_code maxrss_kib utime_us stime_us" to RESULT_FILE.
 * exit_code is 128+N when the command died of signal N, 127 when it could
 * not be started. A command still running after RUNONE_TIMEOUT seconds
 * (default 120) is killed (exit_code 137), so a hung tool cannot hang the
 * benchmark.
 *
 * Why a separate static launcher: on exec, Linux carries the high-water RSS
 * of the pre-exec address space into the child's ru_maxrss. Spawned straight
 * from the Python harness, every command would report at least Python's own
 * peak RSS. This launcher is tiny, so the child's ru_maxrss is its own.
 * Timing here, around posix_spawn .. wait4, also keeps the harness's own
 * overhead out of the measured interval.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static volatile pid_t child = 0;

static void on_alarm(int sig) {
    (void)sig;
    if (child > 0)
        kill(child, SIGKILL);
}

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: runone RESULT STDOUT STDERR PROGRAM [ARG...]\n");
        return 2;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, argv[3], O_WRONLY | O_CREAT | O_TRUNC, 0600);

    struct sigaction sa = {0};
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL); /* no SA_RESTART: wait4 returns EINTR */
    const char *limit = getenv("RUNONE_TIMEOUT");
    unsigned secs = limit ? (unsigned)atoi(limit) : 120;

    pid_t pid;
    int status = 0, code = 127;
    struct rusage ru = {0};
    alarm(secs);
    long long t0 = now_ns();
    int err = posix_spawn(&pid, argv[4], &fa, NULL, &argv[4], environ);
    if (err == 0) {
        child = pid;
        pid_t r;
        while ((r = wait4(pid, &status, 0, &ru)) < 0 && errno == EINTR)
            ;
        if (r == pid)
            code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    long long t1 = now_ns();
    alarm(0);

    FILE *f = fopen(argv[1], "w");
    if (!f) {
        perror(argv[1]);
        return 2;
    }
    fprintf(f, "%lld %d %ld %lld %lld\n", t1 - t0, code, ru.ru_maxrss,
            (long long)ru.ru_utime.tv_sec * 1000000LL + ru.ru_utime.tv_usec,
            (long long)ru.ru_stime.tv_sec * 1000000LL + ru.ru_stime.tv_usec);
    return fclose(f) == 0 ? 0 : 2;
}
