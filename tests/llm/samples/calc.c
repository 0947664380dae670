#include <stdio.h>

static int add(int a, int b) {
    int s = a + b;
    return s;
}

static int twice(int x) {
    if (x > 10) {
        return x;
    }
    return add(x, x); /* the exit must come after add's own events */
}

int main(void) {
    printf("%d\n", twice(3));
    return 0;
}
