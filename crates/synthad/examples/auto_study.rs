//! How `auto`'s choice could be made: runs its search on the benchmark scenarios and writes,
//! for every candidate, its held-out scores (what the choice may use) and its test scores
//! (what the choice is judged on), so that rules can be compared offline with
//! `bench/auto_study.py`.
//!
//!     cargo run --release -p synthad --example auto_study -- OUT_DIR SEEDS [CANDIDATES]
//!
//! SEEDS like 0-2; CANDIDATES comma separated (default: auto's own). One JSON file per
//! scenario and seed.

use std::path::PathBuf;

use synthad::__bench::auto_study;
use synthad::bench;
use synthad::train::{AutoParams, DetectorKind, TrainParams};

fn main() {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(
        args.next()
            .expect("usage: auto_study OUT_DIR SEEDS [CANDIDATES]"),
    );
    let seeds = args.next().unwrap_or_else(|| "0".into());
    let (a, b) = seeds.split_once('-').unwrap_or((&seeds, &seeds));
    let seeds: Vec<u64> = (a.parse().expect("seed")..=b.parse().expect("seed")).collect();
    let candidates: Option<Vec<String>> = args
        .next()
        .map(|c| c.split(',').map(String::from).collect());
    let data_dir = std::env::var_os("SYNTHAD_DATA").map_or("../shared/data".into(), PathBuf::from);
    std::fs::create_dir_all(&out).expect("the output directory");
    for scenario in bench::available(&data_dir) {
        for &seed in &seeds {
            let path = out.join(format!("{scenario}.{seed}.json"));
            if path.exists() {
                continue; // written by an earlier run: the study resumes where it stopped
            }
            let data = bench::load(&scenario, &data_dir, seed).expect("the scenario");
            let mut params = TrainParams {
                seed,
                auto: AutoParams {
                    budget_seconds: 1e9,
                    ..Default::default()
                },
                ..TrainParams::for_detector(DetectorKind::Auto)
            };
            if let Some(c) = &candidates {
                params.auto.candidates = c.clone();
            }
            let started = std::time::Instant::now();
            let studied = auto_study(&data.train, &params.check().expect("params"), &data.test)
                .expect("the search");
            let json = serde_json::json!({
                "scenario": scenario,
                "seed": seed,
                "test_kinds": data.test_kinds,
                "seen_kinds": data.seen_kinds,
                "candidates": studied.iter().map(|c| serde_json::json!({
                    "name": c.name,
                    "held_normal": c.held_normal,
                    "held_known": c.held_known,
                    "held_shapes": c.held_shapes,
                    "test_scores": c.test_scores,
                })).collect::<Vec<_>>(),
            });
            std::fs::write(&path, json.to_string()).expect("writing");
            eprintln!(
                "{scenario} seed {seed}: {} candidates, {:.1} s",
                studied.len(),
                started.elapsed().as_secs_f64()
            );
        }
    }
}
