//! W-DRIFT runner (in progress).
fn main() {}
