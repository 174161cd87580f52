//! Runnable examples live beside this file; run them with `cargo run -p mlops-examples --example <name>`.
