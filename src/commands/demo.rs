//! `synthad demo`: the paper's point on a 2-D problem anyone can look at.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use synthad::demo::{self, KNOWN_KIND, UNSEEN_KIND};
use synthad::evaluate::evaluate;
use synthad::ingest::TrainingSet;
use synthad::train::{Mode, TrainParams};
use synthad::{Choice, Detector};

use crate::plot::{score_maps, Marker, ScoreMap};
use crate::progress::EpochProgress;

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Where to write the score maps.
    #[arg(long, default_value = "synthad-demo.png")]
    pub out: PathBuf,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

const GRID: usize = 160;

pub fn run(args: DemoArgs, quiet: bool) -> Result<()> {
    let data = demo::make(args.seed);
    println!(
        "Demo: 2 normal clusters ({} rows), a known anomaly cluster ({} labeled rows) in training;",
        data.split.normal.len(),
        data.split.known.len()
    );
    println!("the test set adds an unseen anomaly cluster in an empty corner.\n");

    let grid_points: Vec<(f64, f64)> = (0..GRID * GRID)
        .map(|i| {
            (
                (i % GRID) as f64 / (GRID - 1) as f64,
                (i / GRID) as f64 / (GRID - 1) as f64,
            )
        })
        .collect();
    let grid = demo::points_table(
        "demo (grid)",
        grid_points.iter().map(|p| p.0).collect(),
        grid_points.iter().map(|p| p.1).collect(),
    );

    println!(
        "{:<12} {:>12} {:>22} {:>22}",
        "mode", "AUPR (all)", "AUPR known cluster", "AUPR unseen cluster"
    );
    let mut maps = Vec::new();
    let mut unseen = Vec::new();
    let training = TrainingSet::new(data.train.clone(), data.split.clone());
    for mode in [Mode::Vanilla, Mode::Synthetic] {
        // The paper's comparison on every training normal (no calibration hold-out).
        let params = TrainParams {
            mode,
            seed: args.seed,
            calibration_fraction: 0.0,
            ..Default::default()
        }
        .check()?;
        let progress = EpochProgress::new(mode.name(), params.max_epochs, quiet);
        let fitted = Detector::fit_with_progress(&training, &params, &mut |s| progress.update(s));
        progress.finish();
        let (detector, fit) = fitted?;
        if fit.train.collapsed {
            super::print_fit_summary(detector.params(), &fit);
        }
        let scores = detector.decision_function(&data.test)?;
        let report = evaluate(
            &scores,
            &data.test_kinds,
            detector.known_kinds(),
            Some(detector.threshold()),
        );
        let kind_aupr = |kind: &str| {
            report
                .kinds
                .iter()
                .find(|k| k.kind == kind)
                .and_then(|k| k.metrics.aupr)
                .unwrap_or(f64::NAN)
        };
        println!(
            "{:<12} {:>12.3} {:>22.3} {:>22.3}",
            mode.name(),
            report.overall.aupr.unwrap_or(f64::NAN),
            kind_aupr(KNOWN_KIND),
            kind_aupr(UNSEEN_KIND)
        );
        unseen.push(kind_aupr(UNSEEN_KIND));
        maps.push((
            mode,
            detector.decision_function(&grid)?,
            detector.threshold(),
        ));
    }

    let markers: Vec<Marker> = (0..data.test.n_rows)
        .map(|r| {
            let value = |c: usize| match &data.test.columns[c].values {
                synthad::ingest::Values::Numeric(v) => v[r],
                synthad::ingest::Values::Categorical(_) => unreachable!("the demo is numeric"),
            };
            let group = match data.test_kinds[r].as_deref() {
                None => 0,
                Some(KNOWN_KIND) => 1,
                Some(_) => 2,
            };
            (value(0), value(1), group)
        })
        .collect();
    let panels: Vec<ScoreMap> = maps
        .iter()
        .map(|(mode, scores, threshold)| ScoreMap {
            title: format!(
                "{} (unseen-cluster AUPR {:.2})",
                mode.name(),
                if *mode == Mode::Vanilla {
                    unseen[0]
                } else {
                    unseen[1]
                }
            ),
            grid: GRID,
            scores,
            threshold: *threshold,
        })
        .collect();
    score_maps(&args.out, &panels, &markers)
        .with_context(|| format!("writing {}", args.out.display()))?;
    println!(
        "\nThe known-only (vanilla) model reaches AUPR {:.3} on the unseen cluster; with synthetic anomalies, {:.3}.",
        unseen[0], unseen[1]
    );
    println!(
        "Score maps (bright = anomalous, white = decision boundary; grey: test normals, red: known kind, magenta: unseen kind): {}",
        args.out.display()
    );
    Ok(())
}
