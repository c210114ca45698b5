//! The softmax-bench binary: argument errors, a tiny `run --quick` that
//! writes a valid report and chart, and `compare` on two reports.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_softmax-bench"))
        .args(args)
        .output()
        .expect("the binary runs")
}

/// A fresh directory under the system temp dir, removed when dropped (also
/// when the test fails), so that test runs leave nothing behind.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let d =
            std::env::temp_dir().join(format!("softmax-bench-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Scratch(d)
    }
}

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A one-line error that names `needle`, a non-zero exit, no panic.
fn assert_one_line_error(o: &Output, needle: &str) {
    let e = stderr(o);
    assert!(!o.status.success(), "should fail: {e}");
    assert_eq!(e.trim_end().lines().count(), 1, "one line: {e:?}");
    assert!(e.contains(needle), "{e:?} should name {needle:?}");
    assert!(!e.contains("panicked"), "{e}");
}

fn run_tiny(dir: &Path, name: &str, shapes: &str) -> PathBuf {
    let out = dir.join(name);
    let o = bench(&[
        "run",
        "--quick",
        "--shapes",
        shapes,
        "--levels",
        "scalar,portable",
        "--threads",
        "2",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    out
}

#[test]
fn help_and_version_succeed() {
    let o = bench(&["--help"]);
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("run") && text.contains("compare") && text.contains("--quick"));
    assert!(bench(&["--version"]).status.success());
}

#[test]
fn bad_arguments_are_one_line_errors() {
    assert_one_line_error(&bench(&["run", "--levels", "avx9"]), "avx9");
    assert_one_line_error(&bench(&["run", "--shapes", "0x5"]), "0x5");
    assert_one_line_error(&bench(&["run", "--shapes", "-3"]), "-3");
    assert_one_line_error(&bench(&["run", "--shapes", "12xz"]), "12xz");
    assert_one_line_error(
        &bench(&["run", "--shapes", "100000x100000"]),
        "100000x100000",
    );
    assert_one_line_error(&bench(&["run", "--shapes", "99999999999999999999"]), "9999");
    assert_one_line_error(&bench(&["run", "--threads", "0"]), "--threads");
    assert_one_line_error(&bench(&["run", "--ops", "softmin"]), "softmin");
    assert_one_line_error(&bench(&["--frobnicate"]), "--frobnicate");
    assert_one_line_error(&bench(&["compare", "only-one.json"]), "2 values required");
    #[cfg(target_arch = "x86_64")]
    assert_one_line_error(&bench(&["run", "--levels", "neon"]), "neon");
}

#[test]
fn unreadable_and_malformed_reports_are_one_line_errors() {
    let d = Scratch::new("bad");
    let good = run_tiny(&d, "good.json", "64");
    let missing = d.join("missing.json");
    let not_json = d.join("not.json");
    std::fs::write(&not_json, "{ this is not json").unwrap();
    let other = d.join("other.json");
    std::fs::write(&other, r#"{"name": "something else"}"#).unwrap();
    let wrong = d.join("wrong.json");
    std::fs::write(&wrong, r#"{"tool": "softmax-bench", "measurements": 7}"#).unwrap();
    let g = good.to_str().unwrap();
    for (bad, needle) in [
        (&missing, "cannot read"),
        (&not_json, "not JSON"),
        (&other, "not a softmax-bench report"),
        (&wrong, "malformed"),
    ] {
        let o = bench(&["compare", g, bad.to_str().unwrap()]);
        assert_one_line_error(&o, needle);
        assert!(stderr(&o).contains(bad.file_name().unwrap().to_str().unwrap()));
    }
}

#[test]
fn a_quick_run_writes_a_valid_report_and_a_chart() {
    let d = Scratch::new("run");
    let out = run_tiny(&d, "r.json", "64,3x40");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(v["tool"], "softmax-bench");
    assert_eq!(v["crate_version"], env!("CARGO_PKG_VERSION"));
    assert!(v["date"].as_str().unwrap().starts_with("20"));
    assert!(v["cpu"]["logical_cpus"].as_u64().unwrap() >= 1);
    assert!(!v["build"]["target"].as_str().unwrap().is_empty());
    assert!(
        softmax_simd::Isa::available()
            .iter()
            .any(|i| i.name() == v["detected_isa"].as_str().unwrap())
    );
    let ms = v["measurements"].as_array().unwrap();
    // 2 shapes x 2 thread counts x (copy + 2 levels x 2 ops x 2 modes).
    assert_eq!(ms.len(), 2 * 2 * (1 + 2 * 2 * 2));
    for m in ms {
        assert!(m["elements_per_ns"].as_f64().unwrap() > 0.0, "{m}");
        assert!(m["median_ns"].as_f64().unwrap() >= m["min_ns"].as_f64().unwrap());
        // At least one timed run per round, `min_runs` rounds.
        assert!(m["runs"].as_u64().unwrap() >= v["settings"]["min_runs"].as_u64().unwrap());
        let gbs = m["gb_per_s"].as_f64().unwrap();
        assert!((gbs - 8.0 * m["elements_per_ns"].as_f64().unwrap()).abs() < 1e-9);
        if m["isa"] != "copy" {
            assert!(m["copy_fraction"].as_f64().unwrap() > 0.0);
            let s = m["speedup_vs_scalar"].as_f64().unwrap();
            if m["isa"] == "scalar" {
                assert_eq!(s, 1.0);
            }
        }
    }
    let svg = std::fs::read_to_string(d.join("r.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("portable") && svg.contains("scalar"));
}

#[test]
fn compare_lines_up_two_reports_and_says_what_they_do_not_share() {
    let d = Scratch::new("compare");
    let a = run_tiny(&d, "a.json", "64");
    let b = run_tiny(&d, "b.json", "64,2x16");
    let o = bench(&["compare", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("[2]/[1]"), "{text}");
    assert!(text.contains("1x64") && text.contains("softmax") && text.contains("portable"));
    // a has 18 measurements (1 shape); b has 36; 18 shared, 18 only in b.
    assert!(text.contains("18 measurements in every report"), "{text}");
    assert!(
        text.contains("18 not in every report") && text.contains("2x16"),
        "{text}"
    );
}
