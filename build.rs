//! Build facts for reports: target, rustc version, profile and the target
//! features the compiler enables for this build. Never probes the build
//! machine's CPU and never adds `target-cpu` flags: the kernels pick their
//! level at run time.

use std::process::Command;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=RUSTFLAGS");
    println!("cargo::rerun-if-env-changed=CARGO_ENCODED_RUSTFLAGS");

    let env = |k: &str| std::env::var(k).unwrap_or_default();
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let rustc_version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|| "unknown".into());

    println!("cargo::rustc-env=SOFTMAX_SIMD_TARGET={}", env("TARGET"));
    println!("cargo::rustc-env=SOFTMAX_SIMD_PROFILE={}", env("PROFILE"));
    println!("cargo::rustc-env=SOFTMAX_SIMD_RUSTC={rustc_version}");
    println!(
        "cargo::rustc-env=SOFTMAX_SIMD_TARGET_FEATURES={}",
        env("CARGO_CFG_TARGET_FEATURE")
    );
}
