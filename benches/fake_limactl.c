/* The benchmark's limactl: answers `--version` and `list --json NAME` (with one mount, the
 * directory in $BENCH_MOUNT) and does nothing for `shell`, so timing it directly is the
 * floor any shim is measured against. With $BENCH_LOG set it appends each invocation's
 * first argument, so the benchmark can count what a shim asked. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    const char *log = getenv("BENCH_LOG");
    if (log && argc > 1) {
        FILE *f = fopen(log, "a");
        if (f) {
            fprintf(f, "%s\n", argv[1]);
            fclose(f);
        }
    }
    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        puts("limactl version 2.2.0");
    } else if (argc > 2 && strcmp(argv[1], "list") == 0) {
        const char *mount = getenv("BENCH_MOUNT");
        printf("{\"name\":\"%s\",\"status\":\"Running\",\"config\":{\"mounts\":[{\"location\":\"%s\","
               "\"mountPoint\":\"%s\",\"writable\":true}],\"user\":{\"name\":\"u\",\"home\":\"/home/u.guest\","
               "\"shell\":\"/bin/bash\"}}}\n",
               argv[argc - 1], mount ? mount : "/", mount ? mount : "/");
    }
    return 0;
}
