//! `softmax-bench`: how fast softmax and log-softmax run on this CPU, per
//! level, one thread and all, against a copy of the same bytes (the memory
//! ceiling) measured in the same run. Prints a table, writes a JSON report
//! and an SVG chart; `compare` lines up reports from other machines.
//!
//! ```text
//! cargo softmax-bench                 # the DESIGN.md workloads, under 5 minutes on 2 cores
//! cargo softmax-bench run --quick     # under a minute
//! cargo softmax-bench compare a.json b.json
//! ```

mod chart;
#[path = "../../../benches/common/mod.rs"]
mod logits;
mod measure;
mod report;

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use softmax_simd::Isa;

use measure::{Op, Plan, WORKLOADS};
use report::{Measurement, Report};

#[derive(Parser)]
#[command(
    name = "softmax-bench",
    version,
    about = "Measure softmax-simd on this CPU per level against the copy ceiling; compare reports",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Measure every level on the workloads and write a report (the default).
    Run(RunArgs),
    /// Line up two or more reports: the workloads they share, with ratios to the first.
    Compare {
        /// Report files written by `run`.
        #[arg(required = true, num_args = 2..)]
        reports: Vec<String>,
    },
}

#[derive(Args, Clone)]
struct RunArgs {
    /// Less time per measurement: the whole run in under a minute on 2 cores.
    #[arg(long)]
    quick: bool,
    /// Levels to measure, comma-separated (default: every level this CPU runs).
    #[arg(long, value_delimiter = ',')]
    levels: Vec<String>,
    /// Workloads as ROWSxCOLS or N (one row), comma-separated (default: the DESIGN.md set).
    #[arg(long, value_delimiter = ',')]
    shapes: Vec<String>,
    /// Operations, comma-separated: softmax, log_softmax (default: both).
    #[arg(long, value_delimiter = ',')]
    ops: Vec<String>,
    /// Threads for the "all" rows (default: every logical CPU).
    #[arg(long)]
    threads: Option<usize>,
    /// Skip the in-place measurements.
    #[arg(long)]
    out_of_place_only: bool,
    /// Where the JSON report goes; the SVG chart is written beside it (.svg).
    #[arg(long, default_value = "softmax-bench.json")]
    out: String,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help, --version
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("bad arguments");
            eprintln!("softmax-bench: {}", first.trim_start_matches("error: "));
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Some(Command::Compare { reports }) => compare(&reports),
        Some(Command::Run(args)) => run(&args),
        None => run(&cli.run),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("softmax-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The largest workload the tool allocates (3 buffers of 4 GiB).
const MAX_ELEMENTS: usize = 1 << 30;

/// `ROWSxCOLS` or `N`, both positive, at most `MAX_ELEMENTS` in all.
fn parse_shape(s: &str) -> Result<(usize, usize), String> {
    let t = s.trim();
    let (r, c) = t.split_once(['x', 'X']).unwrap_or(("1", t));
    match (r.trim().parse::<usize>(), c.trim().parse::<usize>()) {
        (Ok(r), Ok(c)) if r > 0 && c > 0 => match r.checked_mul(c) {
            Some(n) if n <= MAX_ELEMENTS => Ok((r, c)),
            _ => Err(format!(
                "--shapes {s:?}: more than {MAX_ELEMENTS} elements (three buffers of that many f32 are allocated)"
            )),
        },
        _ => Err(format!(
            "--shapes {s:?}: expected ROWSxCOLS or N with positive integers (e.g. 256x32000 or 1024)"
        )),
    }
}

fn plan(args: &RunArgs) -> Result<Plan, String> {
    let isas = if args.levels.is_empty() {
        Isa::available()
    } else {
        let mut v = Vec::new();
        for name in &args.levels {
            let isa: Isa = name
                .parse()
                .map_err(|e: softmax_simd::Error| e.to_string())?;
            if !isa.is_available() {
                return Err(softmax_simd::Error::Unavailable(isa).to_string());
            }
            v.push(isa);
        }
        v
    };
    let workloads = if args.shapes.is_empty() {
        WORKLOADS.to_vec()
    } else {
        args.shapes
            .iter()
            .map(|s| parse_shape(s))
            .collect::<Result<_, _>>()?
    };
    let ops = if args.ops.is_empty() {
        vec![Op::Softmax, Op::LogSoftmax]
    } else {
        args.ops
            .iter()
            .map(|o| match o.trim() {
                "softmax" => Ok(Op::Softmax),
                "log_softmax" | "log-softmax" => Ok(Op::LogSoftmax),
                other => Err(format!(
                    "unknown op {other:?} (expected softmax or log_softmax)"
                )),
            })
            .collect::<Result<_, _>>()?
    };
    let all = match args.threads {
        Some(0) => return Err("--threads 0: need at least one thread".into()),
        Some(n) => n,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let threads = if all > 1 {
        vec![("1", 1), ("all", all)]
    } else {
        vec![("1", 1)]
    };
    let (budget, min_runs) = if args.quick {
        (Duration::from_millis(60), 3)
    } else {
        (Duration::from_millis(450), 5)
    };
    Ok(Plan {
        workloads,
        isas,
        ops,
        in_place: if args.out_of_place_only {
            vec![false]
        } else {
            vec![false, true]
        },
        threads,
        budget,
        min_runs,
    })
}

fn run(args: &RunArgs) -> Result<(), String> {
    let plan = plan(args)?;
    let bar = ProgressBar::new(plan.count() as u64);
    bar.set_style(
        ProgressStyle::with_template("{elapsed:>4} [{bar:30}] {pos}/{len} {msg}")
            .map_err(|e| e.to_string())?
            .progress_chars("=> "),
    );
    let measurements = measure::run(&plan, |m| {
        bar.set_message(format!("{} {} {} {}", m.shape(), m.op, m.isa, m.threads));
        bar.inc(1);
    })?;
    bar.finish_and_clear();

    let all = plan.threads.last().map_or(1, |t| t.1);
    let report = Report {
        schema: report::SCHEMA,
        tool: "softmax-bench".into(),
        crate_version: env!("CARGO_PKG_VERSION").into(),
        date: report::utc_now(),
        cpu: report::cpu(),
        detected_isa: Isa::detect().name().into(),
        build: report::build(),
        settings: report::Settings {
            quick: args.quick,
            threads_all: all,
            budget_ms: plan.budget.as_secs_f64() * 1e3,
            min_runs: plan.min_runs,
        },
        measurements,
    };
    print_header(&report);
    print_table(&report.measurements);
    report::save(&report, &args.out)?;
    let svg = svg_path(&args.out);
    match chart::write(&report, &svg) {
        Ok(()) => println!("\nwrote {} and {svg}", args.out),
        Err(e) => println!("\nwrote {} (no chart: {e})", args.out),
    }
    Ok(())
}

fn svg_path(json: &str) -> String {
    match json.strip_suffix(".json") {
        Some(stem) => format!("{stem}.svg"),
        None => format!("{json}.svg"),
    }
}

fn print_header(r: &Report) {
    println!(
        "softmax-simd {} on {} ({} logical CPUs{}), detected level {}",
        r.crate_version,
        if r.cpu.model.is_empty() {
            "an unknown CPU"
        } else {
            &r.cpu.model
        },
        r.cpu.logical_cpus,
        r.cpu
            .physical_cores
            .map_or(String::new(), |c| format!(", {c} cores")),
        r.detected_isa
    );
    println!(
        "{} {} {}; medians of {} ms per measurement, min {} runs; GB/s counts 8 bytes per element",
        r.build.target, r.build.profile, r.build.rustc, r.settings.budget_ms, r.settings.min_runs
    );
}

fn pct(x: Option<f64>) -> String {
    x.map_or("-".into(), |v| format!("{:.0}%", 100.0 * v))
}

fn print_table(ms: &[Measurement]) {
    println!();
    println!(
        "{:<12} {:<11} {:<4} {:>3} {:<8} {:>8} {:>8} {:>6} {:>8} {:>7}",
        "workload", "op", "mode", "thr", "level", "el/ns", "GB/s", "copy", "x scalar", "spread"
    );
    for m in ms {
        let mode = if m.mode == "in_place" { "in" } else { "out" };
        println!(
            "{:<12} {:<11} {:<4} {:>3} {:<8} {:>8.3} {:>8.1} {:>6} {:>8} {:>6.1}%",
            m.shape(),
            m.op,
            mode,
            m.thread_count,
            m.isa,
            m.elements_per_ns,
            m.gb_per_s,
            pct(m.copy_fraction),
            m.speedup_vs_scalar
                .map_or("-".into(), |s| format!("{s:.1}x")),
            m.spread_pct(),
        );
    }
}

fn compare(paths: &[String]) -> Result<(), String> {
    let reports: Vec<Report> = paths
        .iter()
        .map(|p| report::load(p))
        .collect::<Result<_, _>>()?;
    for (i, (p, r)) in paths.iter().zip(&reports).enumerate() {
        println!(
            "[{}] {p}: {} ({}), level {}, softmax-simd {}, {}, {} threads for \"all\"",
            i + 1,
            if r.cpu.model.is_empty() {
                "unknown CPU"
            } else {
                &r.cpu.model
            },
            r.build.target,
            r.detected_isa,
            r.crate_version,
            r.date,
            r.settings.threads_all
        );
    }
    let versions: Vec<&str> = reports.iter().map(|r| r.crate_version.as_str()).collect();
    if versions.windows(2).any(|w| w[0] != w[1])
        || reports.iter().any(|r| r.schema != report::SCHEMA)
    {
        println!(
            "note: the reports come from different versions or schemas; comparing what they share"
        );
    }

    let maps: Vec<BTreeMap<_, &Measurement>> = reports
        .iter()
        .map(|r| r.measurements.iter().map(|m| (m.key(), m)).collect())
        .collect();
    let mut shared = Vec::new();
    for m in &reports[0].measurements {
        if maps.iter().all(|map| map.contains_key(&m.key())) {
            shared.push(m.key());
        }
    }
    println!();
    print!(
        "{:<12} {:<11} {:<4} {:>3} {:<8}",
        "workload", "op", "mode", "thr", "level"
    );
    for i in 1..=reports.len() {
        print!(" {:>9}", format!("[{i}] el/ns"));
    }
    for i in 2..=reports.len() {
        print!(" {:>8}", format!("[{i}]/[1]"));
    }
    println!();
    for key in &shared {
        let first = maps[0][key];
        let mode = if first.mode == "in_place" {
            "in"
        } else {
            "out"
        };
        print!(
            "{:<12} {:<11} {:<4} {:>3} {:<8}",
            first.shape(),
            first.op,
            mode,
            first.threads,
            first.isa
        );
        for map in &maps {
            print!(" {:>9.3}", map[key].elements_per_ns);
        }
        for map in &maps[1..] {
            print!(
                " {:>7.2}x",
                map[key].elements_per_ns / first.elements_per_ns
            );
        }
        println!();
    }
    println!("\n{} measurements in every report", shared.len());
    for (i, (p, map)) in paths.iter().zip(&maps).enumerate() {
        let only: Vec<String> = map
            .iter()
            .filter(|(k, _)| !maps.iter().all(|m| m.contains_key(*k)))
            .map(|(_, m)| format!("{} {} {} {} {}", m.shape(), m.op, m.mode, m.isa, m.threads))
            .collect();
        if !only.is_empty() {
            println!(
                "[{}] {p}: {} not in every report, e.g. {}",
                i + 1,
                only.len(),
                only.iter().take(3).cloned().collect::<Vec<_>>().join("; ")
            );
        }
    }
    if shared.is_empty() {
        return Err("the reports share no measurement".into());
    }
    Ok(())
}
