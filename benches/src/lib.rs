//! Benchmark support; the runners are binaries (`w_track`) and the criterion benches live beside this file.
