//! W-METRICS runner (in progress).
fn main() {}
