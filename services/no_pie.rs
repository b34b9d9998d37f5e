// The build script of every function crate (each one's `build.rs` includes this file): links
// its binary as a position-dependent executable on Linux.
//
// A position-independent executable (Rust's default) is relocated by the dynamic loader at
// every start: about 55,000 relative relocations for a function here (vtables, `tracing`
// call sites, the AWS SDK's tables), each page they touch copied on write. That was a third
// of a cold start's init CPU (5.0 → 3.4 ms for `cart`, docs/benchmarks/lambda.md). Linked with
// `-no-pie` the executable needs none. What that gives up: the executable's own image loads at
// a fixed address (shared libraries, the heap, stacks and mappings are still randomized) —
// what Go does by default for its Lambda binaries on amd64. Only the link step changes, so no
// dependency is rebuilt for it; the linker (cc, or Zig under cargo-lambda and the image's
// cargo-zigbuild) takes `-no-pie` for both x86_64 and aarch64.

fn main() {
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
    println!("cargo:rerun-if-changed=../no_pie.rs");
    println!("cargo:rerun-if-changed=build.rs");
}
