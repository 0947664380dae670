#include <iostream>

static int add(int a, int b) {
    int s = a + b;
    return s;
}

static int twice(int x) {
    if (x > 10) {
        return x;
    }
    return add(x, x); // the exit must come after add's own events
}

int main() {
    std::cout << twice(3) << "\n";
    return 0;
}
