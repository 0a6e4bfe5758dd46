//! `synthad bench`: the benchmark protocol's scenarios, methods and seeds; tables, JSON,
//! markdown, precision-recall plots, and hyperparameter sweeps.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use synthad::bench::{self, BenchMethod, DetectorMethod, Stat, SummaryRow};

use crate::plot;
use synthad::output::Output;

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Scenarios to run (default and `all`: every scenario whose data is present).
    pub scenarios: Vec<String>,
    /// Methods, comma separated, or "all": vanilla, synthetic, unsupervised (the paper's
    /// classifier); deepsad, abc, drocc, gbt, each also as NAME+synthetic; iforest.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "vanilla,synthetic,unsupervised"
    )]
    pub methods: Vec<String>,
    /// Seeds: a range "0-4" or a list "0,1,2".
    #[arg(long, default_value = "0-4")]
    pub seeds: String,
    /// The benchmark data directory.
    #[arg(long, env = "SYNTHAD_DATA", default_value = "../shared/data")]
    pub data_dir: PathBuf,
    /// Vary one hyperparameter of the --sweep-base method, e.g. synthetic-ratio=0,0.5,1,2
    /// (also known-weight, margin, hidden=100x100,500x500, weight-decay, precision=f32,bf16).
    /// Replaces --methods.
    #[arg(long)]
    pub sweep: Option<String>,
    /// The method whose hyperparameter --sweep varies.
    #[arg(long, default_value = "synthetic")]
    pub sweep_base: String,
    /// Write every run's numbers and timings as JSON ("-" for stdout).
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Write the summary tables as markdown ("-" for stdout).
    #[arg(long)]
    pub markdown: Option<PathBuf>,
    /// Also write every run's test scores to DIR/SCENARIO.SEED.csv: the test rows' kinds
    /// (empty for normals), then one score column per method.
    #[arg(long, value_name = "DIR")]
    pub scores: Option<PathBuf>,
    /// Directory for the plots (precision-recall curves per scenario, sweep plots).
    #[arg(long, default_value = "bench-out")]
    pub plots: PathBuf,
}

/// More seeds than anyone runs; a range such as 0-18446744073709551615 would otherwise
/// allocate until the process aborts.
const MAX_SEEDS: u64 = 10_000;

fn parse_seeds(s: &str) -> Result<Vec<u64>> {
    if let Some((a, b)) = s.split_once('-') {
        let (a, b): (u64, u64) = (a.trim().parse()?, b.trim().parse()?);
        if a > b {
            bail!("--seeds {s}: the range is empty");
        }
        if b - a >= MAX_SEEDS {
            bail!(
                "--seeds {s}: {} seeds, more than the {MAX_SEEDS} a run may have",
                (b - a).saturating_add(1)
            );
        }
        return Ok((a..=b).collect());
    }
    if s.split(',').count() as u64 > MAX_SEEDS {
        bail!("--seeds: more than the {MAX_SEEDS} seeds a run may have");
    }
    s.split(',')
        .map(|v| {
            v.trim()
                .parse::<u64>()
                .with_context(|| format!("--seeds {s}: {v:?} is not a seed"))
        })
        .collect()
}

/// A swept hyperparameter: its name, its values, and one synthetic-mode method per value.
struct Sweep {
    name: String,
    values: Vec<String>,
    methods: Vec<Box<dyn BenchMethod>>,
}

fn sweep_methods(spec: &str, base: &str) -> Result<Sweep> {
    let Some((name, values)) = spec.split_once('=') else {
        bail!("--sweep {spec}: expected NAME=V1,V2,...");
    };
    let values: Vec<String> = values.split(',').map(|v| v.trim().to_string()).collect();
    let mut methods: Vec<Box<dyn BenchMethod>> = Vec::new();
    for value in &values {
        let mut params = bench::method(base)?.params;
        bench::set_param(&mut params, name, value)?;
        // Checked here so that a bad value fails before the run, not in its middle.
        params.clone().check()?;
        methods.push(Box::new(DetectorMethod {
            name: format!("{base}[{name}={value}]"),
            params,
        }));
    }
    Ok(Sweep {
        name: name.to_string(),
        values,
        methods,
    })
}

pub fn run(args: BenchArgs, quiet: bool) -> Result<()> {
    if !args.data_dir.is_dir() {
        bail!(
            "{}: benchmark data directory not found; pass --data-dir or set SYNTHAD_DATA",
            args.data_dir.display()
        );
    }
    // Before anything else: no output may land on the benchmark's own files.
    let outputs: Vec<(&str, &Path)> = [("--json", &args.json), ("--markdown", &args.markdown)]
        .into_iter()
        .filter_map(|(flag, path)| path.as_deref().map(|p| (flag, p)))
        .collect();
    synthad::output::check_distinct(&[], &outputs)?;
    let mut everything = outputs.clone();
    everything.push(("--plots", args.plots.as_path()));
    if let Some(dir) = &args.scores {
        everything.push(("--scores", dir.as_path()));
    }
    synthad::output::check_outside("--data-dir", &args.data_dir, &everything)?;
    let available = bench::available(&args.data_dir);
    let scenarios: Vec<String> =
        if args.scenarios.is_empty() || args.scenarios.iter().any(|s| s == "all") {
            available.clone()
        } else {
            for s in &args.scenarios {
                if !bench::scenarios::all_scenarios()
                    .iter()
                    .any(|(n, _)| n == s)
                {
                    bail!(
                        "unknown scenario {s:?}; known: {}",
                        bench::scenarios::all_scenarios()
                            .iter()
                            .map(|s| s.0.clone())
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                }
                if !available.contains(s) {
                    bail!(
                        "scenario {s}: its data is not under {}",
                        args.data_dir.display()
                    );
                }
            }
            args.scenarios.clone()
        };
    if scenarios.is_empty() {
        bail!("no scenario data found under {}", args.data_dir.display());
    }
    let seeds = parse_seeds(&args.seeds)?;
    let (sweep, methods) = match &args.sweep {
        Some(spec) => {
            let Sweep {
                name,
                values,
                methods,
            } = sweep_methods(spec, &args.sweep_base)?;
            (Some((name, values)), methods)
        }
        None => {
            let chosen = if args.methods.iter().any(|m| m == "all") {
                bench::registry()
            } else {
                args.methods
                    .iter()
                    .map(|m| bench::method(m))
                    .collect::<synthad::Result<Vec<_>>>()?
            };
            let boxed = chosen
                .into_iter()
                .map(|m| Box::new(m) as Box<dyn BenchMethod>)
                .collect();
            (None, boxed)
        }
    };

    // Reports are opened before the long run: an unwritable place fails now.
    let json_out = args.json.as_deref().map(Output::create).transpose()?;
    let markdown_out = args.markdown.as_deref().map(Output::create).transpose()?;
    std::fs::create_dir_all(&args.plots)
        .with_context(|| format!("creating {}", args.plots.display()))?;

    let total = scenarios.len() * seeds.len() * methods.len();
    let bar = ProgressBar::new(total as u64);
    // Without a terminal (logs, CI) each run gets a line instead of the bar.
    let log_lines = !quiet && !std::io::stderr().is_terminal();
    if quiet || log_lines {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} runs ({elapsed}, eta {eta}) {msg}")
            .expect("a valid template"),
    );
    let started = Instant::now();
    let records = bench::run(&scenarios, &methods, &seeds, &args.data_dir, &mut |r| {
        let message = format!(
            "{} {} seed {}: AUPR {:.3} ({:.1} s)",
            r.scenario,
            r.method,
            r.seed,
            r.report.overall.aupr.unwrap_or(f64::NAN),
            r.seconds
        );
        if log_lines {
            eprintln!("[{}/{total}] {message}", bar.position() + 1);
        }
        bar.inc(1);
        bar.set_message(message);
    })?;
    bar.finish_and_clear();
    let wall = started.elapsed().as_secs_f64();
    let summary = bench::summarize(&records);
    let method_names: Vec<String> = methods.iter().map(|m| m.name().to_string()).collect();

    print!("{}", terminal_tables(&summary, &scenarios, &method_names));
    println!(
        "{} runs ({} scenarios × {} methods × {} seeds) in {:.0} s",
        records.len(),
        scenarios.len(),
        methods.len(),
        seeds.len(),
        wall
    );

    for scenario in &scenarios {
        let curves: Vec<(String, Vec<(f64, f64)>)> = records
            .iter()
            .filter(|r| &r.scenario == scenario && r.pr_curve.is_some())
            .map(|r| (r.method.clone(), r.pr_curve.clone().unwrap_or_default()))
            .collect();
        let path = args.plots.join(format!("pr-{scenario}.png"));
        plot::pr_curves(
            &path,
            &format!("{scenario}: precision-recall, seed {}", seeds[0]),
            &curves,
        )?;
    }
    if let Some((name, values)) = &sweep {
        for scenario in &scenarios {
            let rows: Vec<&SummaryRow> =
                summary.iter().filter(|r| &r.scenario == scenario).collect();
            let series = |f: &dyn Fn(&SummaryRow) -> Option<Stat>| -> Vec<Option<f64>> {
                rows.iter().map(|r| f(r).map(|s| s.mean)).collect()
            };
            // The default base keeps the plain name; other bases are part of it.
            let stem = match args.sweep_base.as_str() {
                "synthetic" => name.clone(),
                base => format!("{base}-{name}"),
            };
            let path = args.plots.join(format!("sweep-{stem}-{scenario}.png"));
            plot::sweep(
                &path,
                &format!(
                    "{scenario}: {} AUPR vs {name} (mean of {} seeds)",
                    args.sweep_base,
                    seeds.len()
                ),
                values,
                &[
                    ("all anomalies", series(&|r| r.aupr)),
                    ("seen kinds", series(&|r| r.seen_aupr)),
                    ("unseen kinds", series(&|r| r.unseen_aupr)),
                ],
            )?;
        }
    }
    eprintln!("plots in {}", args.plots.display());

    if let Some(dir) = &args.scores {
        write_scores(dir, &records, &scenarios, &seeds, &args.data_dir)?;
    }
    if let Some(path) = &args.json {
        let json = serde_json::json!({
            "scenarios": scenarios,
            "methods": method_names,
            "seeds": seeds,
            "wall_seconds": wall,
            "summary": summary,
            "runs": records,
        });
        write_output(json_out, path, &serde_json::to_string_pretty(&json)?)?;
    }
    if let Some(path) = &args.markdown {
        let text = markdown_tables(&summary, &scenarios, &method_names);
        write_output(markdown_out, path, &text)?;
    }
    Ok(())
}

/// One CSV per scenario and seed: kind, then each method's score of every test row.
fn write_scores(
    dir: &Path,
    records: &[bench::RunRecord],
    scenarios: &[String],
    seeds: &[u64],
    data_dir: &Path,
) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for scenario in scenarios {
        for &seed in seeds {
            let runs: Vec<&bench::RunRecord> = records
                .iter()
                .filter(|r| &r.scenario == scenario && r.seed == seed)
                .collect();
            let kinds = bench::load(scenario, data_dir, seed)?.test_kinds;
            let mut text = String::from("kind");
            for r in &runs {
                text.push(',');
                text.push_str(&r.method);
            }
            text.push('\n');
            for (row, kind) in kinds.iter().enumerate() {
                text.push_str(kind.as_deref().unwrap_or(""));
                for r in &runs {
                    write!(text, ",{}", r.scores[row]).expect("writing to a string");
                }
                text.push('\n');
            }
            let path = dir.join(format!("{scenario}.{seed}.csv"));
            synthad::output::write_text(&path, &text)?;
        }
    }
    Ok(())
}

fn write_output(out: Option<Output>, path: &Path, text: &str) -> Result<()> {
    let mut out = out.expect("opened before the run");
    writeln!(out, "{text}").with_context(|| format!("writing {}", path.display()))?;
    out.commit()
        .with_context(|| format!("writing {}", path.display()))
}

fn cell(s: Option<Stat>) -> String {
    s.map_or("-".to_string(), |s| s.to_string())
}

fn find<'a>(summary: &'a [SummaryRow], scenario: &str, method: &str) -> Option<&'a SummaryRow> {
    summary
        .iter()
        .find(|r| r.scenario == scenario && r.method == method)
}

/// The tables as (title, header, rows) for both output formats.
fn tables(
    summary: &[SummaryRow],
    scenarios: &[String],
    methods: &[String],
) -> Vec<(String, Vec<String>, Vec<Vec<String>>)> {
    let metric_table = |title: &str, f: &dyn Fn(&SummaryRow) -> Option<Stat>| {
        let mut header = vec!["scenario".to_string()];
        header.extend(methods.iter().cloned());
        let rows = scenarios
            .iter()
            .filter(|s| {
                methods
                    .iter()
                    .any(|m| find(summary, s, m).is_some_and(|r| f(r).is_some()))
            })
            .map(|s| {
                let mut row = vec![s.clone()];
                row.extend(
                    methods
                        .iter()
                        .map(|m| cell(find(summary, s, m).and_then(f))),
                );
                row
            })
            .collect();
        (title.to_string(), header, rows)
    };
    let mut out = vec![
        metric_table("AUPR, all test anomalies (mean ± std over seeds)", &|r| {
            r.aupr
        }),
        metric_table("AUPR on seen kinds (mean over kinds)", &|r| r.seen_aupr),
        metric_table("AUPR on unseen kinds (mean over kinds)", &|r| r.unseen_aupr),
        metric_table("AUROC, all test anomalies", &|r| r.auroc),
        metric_table("Seconds per run (fit + score)", &|r| Some(r.seconds)),
    ];
    // Per kind, for scenarios with more than one kind.
    let mut header = vec!["scenario".to_string(), "kind".to_string()];
    header.extend(methods.iter().cloned());
    let mut rows = Vec::new();
    for s in scenarios {
        let Some(first) = methods.iter().find_map(|m| find(summary, s, m)) else {
            continue;
        };
        if first.kinds.len() < 2 {
            continue;
        }
        for (kind, seen, _) in &first.kinds {
            let mut row = vec![
                s.clone(),
                format!("{kind} ({})", if *seen { "seen" } else { "unseen" }),
            ];
            row.extend(methods.iter().map(|m| {
                cell(
                    find(summary, s, m)
                        .and_then(|r| r.kinds.iter().find(|k| &k.0 == kind).and_then(|k| k.2)),
                )
            }));
            rows.push(row);
        }
    }
    if !rows.is_empty() {
        out.push(("AUPR per anomaly kind".to_string(), header, rows));
    }
    out
}

fn terminal_tables(summary: &[SummaryRow], scenarios: &[String], methods: &[String]) -> String {
    let mut s = String::new();
    for (title, header, rows) in tables(summary, scenarios, methods) {
        let widths: Vec<usize> = (0..header.len())
            .map(|c| {
                std::iter::once(&header[c])
                    .chain(rows.iter().map(|r| &r[c]))
                    .map(|v| v.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |cells: &[String]| {
            cells
                .iter()
                .zip(&widths)
                .enumerate()
                .map(|(i, (c, w))| {
                    if i == 0 {
                        format!("{c:<w$}")
                    } else {
                        format!("{c:>w$}")
                    }
                })
                .collect::<Vec<_>>()
                .join("  ")
        };
        let _ = writeln!(s, "\n{title}");
        let _ = writeln!(s, "{}", line(&header));
        for row in &rows {
            let _ = writeln!(s, "{}", line(row));
        }
    }
    s
}

fn markdown_tables(summary: &[SummaryRow], scenarios: &[String], methods: &[String]) -> String {
    let mut s = String::new();
    for (title, header, rows) in tables(summary, scenarios, methods) {
        let _ = writeln!(s, "\n#### {title}\n");
        let _ = writeln!(s, "| {} |", header.join(" | "));
        let _ = writeln!(s, "|{}", "---|".repeat(header.len()));
        for row in &rows {
            let _ = writeln!(s, "| {} |", row.join(" | "));
        }
    }
    s
}
