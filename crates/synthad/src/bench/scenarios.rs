//! The scenarios of the benchmark protocol (shared/PROTOCOL.md): which rows train, which
//! anomalies are known, which rows test, and the anomaly kind of every test row.

use std::path::{Path, PathBuf};

use super::numpy_random::NumpyRng;
use crate::error::{Error, Result};
use crate::ingest::labels::{canonical, Labels, RowSplit};
use crate::ingest::{ColumnSpec, RawTable, ReadOptions, Table, TrainingSet};

/// One seed's realisation of a scenario.
#[derive(Debug, Clone)]
pub struct ScenarioData {
    pub name: String,
    /// The training rows and their roles (normal, known anomaly).
    pub train: TrainingSet,
    pub test: Table,
    /// `None` for test normals, the anomaly kind otherwise.
    pub test_kinds: Vec<Option<String>>,
    /// Kinds among the known anomalies in training.
    pub seen_kinds: Vec<String>,
}

/// NSL-KDD attack families (the data README's standard grouping).
pub const NSL_KDD_FAMILIES: [(&str, &[&str]); 4] = [
    (
        "DoS",
        &[
            "back",
            "land",
            "neptune",
            "pod",
            "smurf",
            "teardrop",
            "apache2",
            "mailbomb",
            "processtable",
            "udpstorm",
        ],
    ),
    (
        "Probe",
        &["ipsweep", "nmap", "portsweep", "satan", "mscan", "saint"],
    ),
    (
        "R2L",
        &[
            "ftp_write",
            "guess_passwd",
            "imap",
            "multihop",
            "phf",
            "spy",
            "warezclient",
            "warezmaster",
            "sendmail",
            "named",
            "snmpgetattack",
            "snmpguess",
            "xlock",
            "xsnoop",
            "worm",
        ],
    ),
    (
        "U2R",
        &[
            "buffer_overflow",
            "loadmodule",
            "perl",
            "rootkit",
            "httptunnel",
            "ps",
            "sqlattack",
            "xterm",
        ],
    ),
];

const MVTEC_CATEGORIES: [&str; 8] = [
    "bottle",
    "cable",
    "capsule",
    "carpet",
    "grid",
    "hazelnut",
    "leather",
    "metal_nut",
];
const ADBENCH_CLASSICAL: [(&str, &str); 4] = [
    ("cardio", "adbench/classical/6_cardio.npz"),
    ("mammography", "adbench/classical/23_mammography.npz"),
    ("thyroid-odds", "adbench/classical/38_thyroid.npz"),
    ("glass", "adbench/classical/14_glass.npz"),
];

/// Every scenario name with the file it needs, in the protocol's order.
pub fn all_scenarios() -> Vec<(String, PathBuf)> {
    let mut v: Vec<(String, PathBuf)> = vec![
        ("nsl-kdd".into(), "nsl-kdd/KDDTrain+_20Percent.txt".into()),
        ("thyroid".into(), "thyroid/ann-train.data".into()),
        ("arrhythmia".into(), "arrhythmia/arrhythmia.data".into()),
    ];
    for c in MVTEC_CATEGORIES {
        v.push((
            format!("mvtec-{c}"),
            format!("adbench/cv_vit/MVTec-AD_{c}.npz").into(),
        ));
    }
    v.push(("20news".into(), "adbench/nlp_roberta/20news_3.npz".into()));
    for (name, file) in ADBENCH_CLASSICAL {
        v.push((name.into(), file.into()));
    }
    v
}

/// Scenarios whose data files are present under `data_dir`.
pub fn available(data_dir: &Path) -> Vec<String> {
    all_scenarios()
        .into_iter()
        .filter(|(_, file)| data_dir.join(file).is_file())
        .map(|(name, _)| name)
        .collect()
}

/// Builds scenario `name` for `seed` from the files under `data_dir`.
pub fn load(name: &str, data_dir: &Path, seed: u64) -> Result<ScenarioData> {
    let file = all_scenarios()
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, f)| data_dir.join(f))
        .ok_or_else(|| {
            Error::invalid(
                "scenario",
                format!("{name:?}"),
                format!(
                    "one of {}",
                    all_scenarios()
                        .iter()
                        .map(|s| s.0.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?;
    // numpy's generator: the splits of ../shared/ANCHORS.md's runs, row for row.
    let mut rng = NumpyRng::new(seed);
    match name {
        "nsl-kdd" => nsl_kdd(&file, data_dir, &mut rng),
        "thyroid" => thyroid(&file, data_dir),
        "arrhythmia" => arrhythmia(&file, &mut rng),
        _ => npz_scenario(name, &file, &mut rng),
    }
}

/// `rng.permutation(np.flatnonzero(mask))`: `rows` in ascending order, shuffled as numpy does.
fn shuffled(rows: impl IntoIterator<Item = usize>, rng: &mut NumpyRng) -> Vec<usize> {
    rng.permutation(&rows.into_iter().collect::<Vec<_>>())
}

/// Rounds `fraction × n`, keeping at least one row when there are any.
fn share(n: usize, fraction: f64) -> usize {
    if n == 0 {
        0
    } else {
        ((fraction * n as f64).round() as usize).clamp(1, n)
    }
}

/// Types a test file with the train table's column kinds (matched by position).
fn typed_like(train: &Table, raw: &RawTable, options: &ReadOptions) -> Result<Table> {
    let kinds: Vec<_> = train
        .columns
        .iter()
        .map(|c| (c.source_index, c.kind))
        .collect();
    Table::with_kinds(raw, &kinds, options)
}

fn nsl_kdd(train_file: &Path, data_dir: &Path, rng: &mut NumpyRng) -> Result<ScenarioData> {
    let options = ReadOptions::default();
    let family = |attack: &str| -> Option<String> {
        NSL_KDD_FAMILIES
            .iter()
            .find(|(_, attacks)| attacks.contains(&attack))
            .map(|(f, _)| f.to_string())
    };
    let raw = RawTable::read(train_file, &options)?;
    let labels = Labels::read(&raw, "41")?;
    let spec = ColumnSpec {
        ignore: vec!["42".into()], // the difficulty score
        ..Default::default()
    };
    let table = Table::infer(&raw, &spec, &[labels.column_index], &options)?;
    let normal: Vec<usize> = (0..raw.n_rows())
        .filter(|&r| labels.values[r] == "normal")
        .collect();
    let dos = shuffled(
        (0..raw.n_rows()).filter(|&r| family(&labels.values[r]).as_deref() == Some("DoS")),
        rng,
    );
    let known = dos[..share(dos.len(), 0.1)]
        .iter()
        .map(|&r| (r, "DoS".to_string()))
        .collect();
    let split = RowSplit {
        normal,
        known,
        left_out: 0,
    };

    let test_raw = RawTable::read(&data_dir.join("nsl-kdd/KDDTest+.txt"), &options)?;
    let test_labels = Labels::read(&test_raw, "41")?;
    let test = typed_like(&table, &test_raw, &options)?;
    let test_kinds = test_labels
        .values
        .iter()
        .map(|l| (l != "normal").then(|| family(l).unwrap_or_else(|| l.clone())))
        .collect();
    Ok(ScenarioData {
        name: "nsl-kdd".into(),
        train: TrainingSet::new(table, split),
        test,
        test_kinds,
        seen_kinds: vec!["DoS".into()],
    })
}

fn thyroid(train_file: &Path, data_dir: &Path) -> Result<ScenarioData> {
    let options = ReadOptions::default();
    let kind = |label: &str| match label {
        "1" => Some("hyperfunction".to_string()),
        "2" => Some("subnormal".to_string()),
        _ => None,
    };
    let raw = RawTable::read(train_file, &options)?;
    let labels = Labels::read(&raw, "21")?;
    let table = Table::infer(
        &raw,
        &ColumnSpec::default(),
        &[labels.column_index],
        &options,
    )?;
    let split = RowSplit {
        normal: (0..raw.n_rows())
            .filter(|&r| labels.values[r] == "3")
            .collect(),
        known: (0..raw.n_rows())
            .filter(|&r| labels.values[r] == "1")
            .map(|r| (r, "hyperfunction".to_string()))
            .collect(),
        left_out: 0,
    };
    let test_raw = RawTable::read(&data_dir.join("thyroid/ann-test.data"), &options)?;
    let test_labels = Labels::read(&test_raw, "21")?;
    Ok(ScenarioData {
        name: "thyroid".into(),
        test: typed_like(&table, &test_raw, &options)?,
        train: TrainingSet::new(table, split),
        test_kinds: test_labels.values.iter().map(|l| kind(l)).collect(),
        seen_kinds: vec!["hyperfunction".into()],
    })
}

fn arrhythmia(file: &Path, rng: &mut NumpyRng) -> Result<ScenarioData> {
    // The file marks missing values "NaN" (its README says "?"): both are missing here.
    let mut options = ReadOptions::default();
    options.missing.push("NaN".into());
    let raw = RawTable::read(file, &options)?;
    let label_column = (raw.names.len() - 1).to_string();
    let labels = Labels::read(&raw, &label_column)?;
    // All 279 features are numeric, even those that look binary in this small file.
    let spec = ColumnSpec {
        numeric: (0..raw.names.len() - 1).map(|i| i.to_string()).collect(),
        ..Default::default()
    };
    let table = Table::infer(&raw, &spec, &[labels.column_index], &options)?;
    let known_classes = ["2", "10", "14"];
    let normal = shuffled((0..raw.n_rows()).filter(|&r| labels.values[r] == "1"), rng);
    let n_train = share(normal.len(), 0.8);
    let split = RowSplit {
        normal: normal[..n_train].to_vec(),
        known: (0..raw.n_rows())
            .filter(|&r| known_classes.contains(&labels.values[r].as_str()))
            .map(|r| (r, format!("class {}", labels.values[r])))
            .collect(),
        left_out: 0,
    };
    let mut test_rows: Vec<usize> = normal[n_train..].to_vec();
    test_rows.extend((0..raw.n_rows()).filter(|&r| {
        labels.values[r] != "1" && !known_classes.contains(&labels.values[r].as_str())
    }));
    let test_kinds = test_rows
        .iter()
        .map(|&r| (labels.values[r] != "1").then(|| format!("class {}", labels.values[r])))
        .collect();
    Ok(ScenarioData {
        name: "arrhythmia".into(),
        test: table.select_rows(&test_rows),
        train: TrainingSet::new(table, split),
        test_kinds,
        seen_kinds: Vec::new(),
    })
}

/// ADBench `.npz` sets: 70% of normals train, 20% of anomalies are known; the rest test.
fn npz_scenario(name: &str, file: &Path, rng: &mut NumpyRng) -> Result<ScenarioData> {
    let options = ReadOptions::default();
    let raw = RawTable::read(file, &options)?;
    let labels = Labels::read(&raw, "y")?;
    // Embedding and sensor features are continuous even where a column happens to hold 0/1.
    let spec = ColumnSpec {
        numeric: (0..raw.names.len() - 1).map(|i| i.to_string()).collect(),
        ..Default::default()
    };
    let table = Table::infer(&raw, &spec, &[labels.column_index], &options)?;
    let normal_label = canonical("0");
    let normal = shuffled(
        (0..raw.n_rows()).filter(|&r| labels.values[r] == normal_label),
        rng,
    );
    let anomalies = shuffled(
        (0..raw.n_rows()).filter(|&r| labels.values[r] != normal_label),
        rng,
    );
    let n_train = share(normal.len(), 0.7);
    let n_known = share(anomalies.len(), 0.2);
    let split = RowSplit {
        normal: normal[..n_train].to_vec(),
        known: anomalies[..n_known]
            .iter()
            .map(|&r| (r, "anomaly".to_string()))
            .collect(),
        left_out: 0,
    };
    let mut test_rows = normal[n_train..].to_vec();
    test_rows.extend(&anomalies[n_known..]);
    let test_kinds = test_rows
        .iter()
        .map(|&r| (labels.values[r] != normal_label).then(|| "anomaly".to_string()))
        .collect();
    Ok(ScenarioData {
        name: name.into(),
        test: table.select_rows(&test_rows),
        train: TrainingSet::new(table, split),
        test_kinds,
        seen_kinds: vec!["anomaly".into()],
    })
}
