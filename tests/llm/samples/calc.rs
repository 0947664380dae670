fn add(a: i32, b: i32) -> i32 {
    let s = a + b;
    s
}

fn twice(x: i32) -> i32 {
    if x > 10 {
        return x;
    }
    add(x, x)
}

fn main() {
    println!("{}", twice(3));
}
