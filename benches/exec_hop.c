/* The floor for any exec'ing shim: an empty C program that only replaces itself with
 * argv[1..]. The benchmark compares the shim's extra cost with this one's. */
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    execv(argv[1], argv + 1);
    return 127;
}
