public class Calc {
    static int add(int a, int b) {
        int s = a + b;
        return s;
    }

    static int twice(int x) {
        if (x > 10) {
            return x;
        }
        return add(x, x);
    }

    public static void main(String[] args) {
        System.out.println(twice(3));
    }
}
