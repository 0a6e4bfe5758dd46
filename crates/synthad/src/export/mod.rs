//! Export: a fitted detector as an ONNX model — the preprocessing, the model and the
//! threshold in one graph that takes the raw columns as named inputs, for ONNX Runtime and the
//! other runtimes that read ONNX (Java, C#, the browser, edge boxes).
//!
//! Exact by construction: numeric columns arrive as doubles and are scaled in double precision
//! as `prepare` does; trees compare doubles against their thresholds (an f32 feature widened to
//! f64 compares as synthad's does) and sum their leaves in double; networks run in f32 as
//! synthad's do, so only the order of additions inside a matrix product may differ.

mod graph;
mod onnx_proto;

use std::path::Path;

use prost::Message;

use crate::choice::Choice;
use crate::detector::Detector;
use crate::error::{Error, Result};
use crate::ingest::ReadOptions;
use crate::prepare::{ColumnTransform, Encoding};
use crate::train::boosting::BoostedTrees;
use crate::train::choices::Precision;
use crate::train::ensemble::Ensemble;
use crate::train::forest::{self, IsolationForest};
use crate::train::neural::NeuralModel;
use crate::train::objective::Objective;
use crate::train::Model;
use graph::{attr, double_tensor, GraphBuilder, ML_DOMAIN, PREFIX};
use onnx_proto::*;

/// The graph's outputs: the anomaly score per row, and 1 where it is above the threshold.
pub const SCORE_OUTPUT: &str = "score";
pub const PREDICTION_OUTPUT: &str = "prediction";

/// ONNX IR version 8 and opset 17 (ONNX 1.12, 2022): what every maintained runtime reads;
/// ai.onnx.ml 3 is the last opset whose tree ensembles ONNX Runtime runs.
const IR_VERSION: i64 = 8;
const OPSET: i64 = 17;
const ML_OPSET: i64 = 3;

impl Detector {
    /// The detector as an ONNX model's bytes (see the module's documentation), or
    /// [`Error::NotExportable`] saying why it has no exact ONNX form.
    pub fn to_onnx(&self) -> Result<Vec<u8>> {
        Ok(self.onnx_model()?.encode_to_vec())
    }

    /// Writes [`Detector::to_onnx`] to `path` atomically.
    pub fn export_onnx(&self, path: &Path) -> Result<()> {
        let bytes = self.to_onnx()?;
        crate::output::write(path, &bytes)
    }

    fn onnx_model(&self) -> Result<ModelProto> {
        for column in &self.preprocessor.columns {
            if [SCORE_OUTPUT, PREDICTION_OUTPUT].contains(&column.name.as_str())
                || column.name.starts_with(PREFIX)
            {
                return Err(not_exportable(format!(
                    "input column {:?} would share its name with the graph's outputs or internal names; rename the column and train again",
                    column.name
                )));
            }
        }
        let mut g = GraphBuilder::default();
        let read = self
            .schema
            .as_ref()
            .map_or_else(ReadOptions::default, |s| s.read.clone());
        let features: Vec<String> = self
            .preprocessor
            .columns
            .iter()
            .map(|c| encode_column(&mut g, c, &read.missing))
            .collect();
        let refs: Vec<&str> = features.iter().map(String::as_str).collect();
        let x = g.op("Concat", &refs, vec![attr::int("axis", 1)]);
        let score = model_score(&mut g, &self.model, &x)?;
        g.op("Identity", &[&score], vec![]);
        g.rename_last(SCORE_OUTPUT);
        let threshold = g.f32s("threshold", &[], vec![self.threshold]);
        let above = g.op("Greater", &[SCORE_OUTPUT, &threshold], vec![]);
        g.op(
            "Cast",
            &[&above],
            vec![attr::int("to", data_type::INT64 as i64)],
        );
        g.rename_last(PREDICTION_OUTPUT);

        let rows = || Dimension {
            dim_param: Some("rows".into()),
            dim_value: None,
        };
        let value = |name: &str, elem_type: i32, dims: Vec<Dimension>| ValueInfoProto {
            name: name.into(),
            r#type: Some(TypeProto {
                tensor_type: Some(TensorTypeProto {
                    elem_type,
                    shape: Some(TensorShapeProto { dim: dims }),
                }),
            }),
        };
        let one = || Dimension {
            dim_value: Some(1),
            dim_param: None,
        };
        let input = self
            .preprocessor
            .columns
            .iter()
            .map(|c| {
                let elem = match c.encoding {
                    Encoding::MinMax { .. } => data_type::DOUBLE,
                    Encoding::OneHot { .. } => data_type::STRING,
                };
                value(&c.name, elem, vec![rows(), one()])
            })
            .collect();
        let output = vec![
            value(SCORE_OUTPUT, data_type::FLOAT, vec![rows()]),
            value(PREDICTION_OUTPUT, data_type::INT64, vec![rows()]),
        ];
        let detector = self.model.kind().name().to_string();
        let graph = GraphProto {
            node: g.nodes,
            name: format!("synthad {detector}"),
            initializer: g.initializers,
            doc_string: "Anomaly scores (higher = more anomalous) of raw rows: one input per column, numeric columns as doubles (NaN = missing), categorical ones as text.".into(),
            input,
            output,
        };
        let columns: Vec<serde_json::Value> = self
            .preprocessor
            .columns
            .iter()
            .map(|c| serde_json::json!({ "name": c.name, "kind": c.kind }))
            .collect();
        let metadata = [
            ("synthad.version", env!("CARGO_PKG_VERSION").to_string()),
            ("synthad.detector", detector),
            (
                "synthad.columns",
                serde_json::Value::from(columns).to_string(),
            ),
            ("synthad.threshold", self.threshold.to_string()),
            (
                "synthad.missing",
                serde_json::to_string(&read.missing).expect("strings serialize"),
            ),
        ];
        Ok(ModelProto {
            ir_version: IR_VERSION,
            producer_name: "synthad".into(),
            producer_version: env!("CARGO_PKG_VERSION").into(),
            domain: "org.synthad".into(),
            model_version: 1,
            doc_string: String::new(),
            graph: Some(graph),
            opset_import: vec![
                OperatorSetIdProto {
                    domain: String::new(),
                    version: OPSET,
                },
                OperatorSetIdProto {
                    domain: ML_DOMAIN.into(),
                    version: ML_OPSET,
                },
            ],
            metadata_props: metadata
                .into_iter()
                .map(|(key, value)| StringStringEntryProto {
                    key: key.into(),
                    value,
                })
                .collect(),
        })
    }
}

fn not_exportable(reason: impl Into<String>) -> Error {
    Error::NotExportable {
        format: "onnx".into(),
        reason: reason.into(),
    }
}

/// One input column's encoded features, [rows, width] f32, as `Preprocessor::transform_rows`
/// computes them.
fn encode_column(g: &mut GraphBuilder, column: &ColumnTransform, missing: &[String]) -> String {
    let input = column.name.as_str();
    match &column.encoding {
        Encoding::MinMax { min, max, mean } => {
            let range = if max > min { max - min } else { 1.0 };
            let nan = g.op("IsNaN", &[input], vec![]);
            let mean = g.f64s("mean", &[], vec![*mean]);
            let filled = g.op("Where", &[&nan, &mean, input], vec![]);
            let min = g.f64s("min", &[], vec![*min]);
            let shifted = g.op("Sub", &[&filled, &min], vec![]);
            let range = g.f64s("range", &[], vec![range]);
            let scaled = g.op("Div", &[&shifted, &range], vec![]);
            g.op(
                "Cast",
                &[&scaled],
                vec![attr::int("to", data_type::FLOAT as i64)],
            )
        }
        encoding @ Encoding::OneHot {
            categories,
            frequencies,
            other,
        } => {
            // Text → row of a table: category k → k, any other text → K (unseen: zeros, or the
            // pooled "other" feature), a missing marker → K + 1 (the training frequencies).
            let (k, width) = (categories.len(), encoding.width());
            let mut keys: Vec<&str> = categories.iter().map(String::as_str).collect();
            let mut values: Vec<i64> = (0..k as i64).collect();
            for marker in missing {
                if !keys.contains(&marker.as_str()) {
                    keys.push(marker);
                    values.push(k as i64 + 1);
                }
            }
            let index = g.ml(
                "LabelEncoder",
                &[input],
                vec![
                    attr::strings("keys_strings", &keys),
                    attr::ints("values_int64s", values),
                    attr::int("default_int64", k as i64),
                ],
            );
            let mut table = vec![0.0f32; (k + 2) * width];
            for c in 0..k {
                table[c * width + c] = 1.0;
            }
            if other.is_some() {
                table[k * width + width - 1] = 1.0;
            }
            for (t, f) in table[(k + 1) * width..]
                .iter_mut()
                .zip(frequencies.iter().chain(other))
            {
                *t = *f as f32;
            }
            let table = g.f32s("one_hot", &[k + 2, width], table);
            let rows = g.op("Gather", &[&table, &index], vec![attr::int("axis", 0)]);
            g.op("Flatten", &[&rows], vec![attr::int("axis", 1)])
        }
    }
}

/// The model's score of encoded rows `x` ([rows, features] f32), [rows] f32.
fn model_score(g: &mut GraphBuilder, model: &Model, x: &str) -> Result<String> {
    match model {
        Model::Neural(m) => neural_score(g, m, x),
        Model::BoostedTrees(m) => Ok(boosted_score(g, m, x)),
        Model::IsolationForest(m) => Ok(forest_score(g, m, x)),
        Model::Ensemble(e) => ensemble_score(g, e, x),
    }
}

fn squeeze_columns(g: &mut GraphBuilder, x: &str) -> String {
    let axes = g.i64s("axes", &[1], vec![1]);
    g.op("Squeeze", &[x, &axes], vec![])
}

fn sum_of_squares(g: &mut GraphBuilder, difference: &str) -> String {
    let squared = g.op("Mul", &[difference, difference], vec![]);
    let axes = g.i64s("axes", &[1], vec![1]);
    g.op(
        "ReduceSum",
        &[&squared, &axes],
        vec![attr::int("keepdims", 0)],
    )
}

fn neural_score(g: &mut GraphBuilder, m: &NeuralModel, x: &str) -> Result<String> {
    if m.network.precision() != Precision::F32 {
        return Err(not_exportable(format!(
            "the network computes in {} precision, which ONNX's f32 products would not reproduce; score it with --precision f32 or train it that way",
            m.network.precision().name()
        )));
    }
    let widths = m.network.widths();
    let tensors = m.network.named_tensors();
    let mut h = x.to_string();
    for (layer, pair) in tensors.chunks_exact(2).enumerate() {
        let (fan_in, fan_out) = (widths[layer], widths[layer + 1]);
        let weight: Vec<f32> = pair[0].1.flatten_all()?.to_vec1()?;
        let bias: Vec<f32> = pair[1].1.to_vec1()?;
        let w = g.f32s("weight", &[fan_out, fan_in], weight);
        let b = g.f32s("bias", &[fan_out], bias);
        h = g.op("Gemm", &[&h, &w, &b], vec![attr::int("transB", 1)]);
        if layer + 2 < widths.len() {
            h = g.op("Relu", &[&h], vec![]);
        }
    }
    Ok(match &m.objective {
        Objective::Classifier { .. } | Objective::Drocc { .. } => squeeze_columns(g, &h),
        Objective::DeepSad { center, .. } => {
            let c = g.f32s("center", &[1, center.len()], center.clone());
            let d = g.op("Sub", &[&h, &c], vec![]);
            sum_of_squares(g, &d)
        }
        Objective::Abc => {
            let d = g.op("Sub", &[&h, x], vec![]);
            sum_of_squares(g, &d)
        }
    })
}

/// Trees as `TreeEnsembleRegressor`'s parallel arrays, thresholds and leaf values in double.
#[derive(Default)]
struct TreeArrays {
    tree_ids: Vec<i64>,
    node_ids: Vec<i64>,
    feature_ids: Vec<i64>,
    modes: Vec<&'static str>,
    thresholds: Vec<f64>,
    true_ids: Vec<i64>,
    false_ids: Vec<i64>,
    leaf_tree_ids: Vec<i64>,
    leaf_node_ids: Vec<i64>,
    leaf_values: Vec<f64>,
}

impl TreeArrays {
    /// A split: `x[feature] < threshold` goes to `left`.
    fn split(
        &mut self,
        tree: usize,
        node: usize,
        feature: usize,
        threshold: f64,
        left: usize,
        right: usize,
    ) {
        self.tree_ids.push(tree as i64);
        self.node_ids.push(node as i64);
        self.feature_ids.push(feature as i64);
        self.modes.push("BRANCH_LT");
        self.thresholds.push(threshold);
        self.true_ids.push(left as i64);
        self.false_ids.push(right as i64);
    }

    fn leaf(&mut self, tree: usize, node: usize, value: f64) {
        self.tree_ids.push(tree as i64);
        self.node_ids.push(node as i64);
        self.feature_ids.push(0);
        self.modes.push("LEAF");
        self.thresholds.push(0.0);
        self.true_ids.push(0);
        self.false_ids.push(0);
        self.leaf_tree_ids.push(tree as i64);
        self.leaf_node_ids.push(node as i64);
        self.leaf_values.push(value);
    }

    /// The sum over trees of the leaf each row reaches, plus `base`: [rows] f32. The rows are
    /// widened to double first, so every comparison is the one synthad makes.
    fn sum(self, g: &mut GraphBuilder, x: &str, base: f64) -> String {
        let n = self.node_ids.len();
        let wide = g.op(
            "Cast",
            &[x],
            vec![attr::int("to", data_type::DOUBLE as i64)],
        );
        let sum = g.ml(
            "TreeEnsembleRegressor",
            &[&wide],
            vec![
                attr::string("aggregate_function", "SUM"),
                attr::tensor("base_values_as_tensor", double_tensor(&[1], vec![base])),
                attr::int("n_targets", 1),
                attr::ints("nodes_falsenodeids", self.false_ids),
                attr::ints("nodes_featureids", self.feature_ids),
                attr::ints("nodes_missing_value_tracks_true", vec![0; n]),
                attr::strings("nodes_modes", &self.modes),
                attr::ints("nodes_nodeids", self.node_ids),
                attr::ints("nodes_treeids", self.tree_ids),
                attr::ints("nodes_truenodeids", self.true_ids),
                attr::tensor(
                    "nodes_values_as_tensor",
                    double_tensor(&[n], self.thresholds),
                ),
                attr::string("post_transform", "NONE"),
                attr::ints("target_ids", vec![0; self.leaf_values.len()]),
                attr::ints("target_nodeids", self.leaf_node_ids),
                attr::ints("target_treeids", self.leaf_tree_ids),
                attr::tensor(
                    "target_weights_as_tensor",
                    double_tensor(&[self.leaf_values.len()], self.leaf_values),
                ),
            ],
        );
        squeeze_columns(g, &sum)
    }
}

/// forust's prediction: its base score plus the first `prediction_iteration` trees' leaves;
/// a row goes left where `x < split_value`. Encoded rows never hold NaN (missing values are
/// imputed), so forust's missing-value branches are never taken, here or there.
fn boosted_score(g: &mut GraphBuilder, m: &BoostedTrees, x: &str) -> String {
    let booster = m.booster();
    let rounds = booster.prediction_iteration.unwrap_or(booster.trees.len());
    let mut arrays = TreeArrays::default();
    for (t, tree) in booster.trees[..rounds].iter().enumerate() {
        for (i, node) in tree.nodes.iter().enumerate() {
            if node.is_leaf {
                arrays.leaf(t, i, node.weight_value as f64);
            } else {
                arrays.split(
                    t,
                    i,
                    node.split_feature,
                    node.split_value,
                    node.left_child,
                    node.right_child,
                );
            }
        }
    }
    arrays.sum(g, x, booster.base_score)
}

/// Path lengths as leaf values (depth + c(size)), summed over trees, then
/// 2^(−mean / c(ψ)) as `IsolationForest::scores` computes it.
fn forest_score(g: &mut GraphBuilder, m: &IsolationForest, x: &str) -> String {
    let mut arrays = TreeArrays::default();
    for (t, tree) in m.trees.iter().enumerate() {
        let depth = forest::node_depths(tree);
        for (i, node) in tree.iter().enumerate() {
            match *node {
                forest::Node::Split {
                    feature,
                    threshold,
                    left,
                    right,
                } => {
                    arrays.split(
                        t,
                        i,
                        feature as usize,
                        threshold as f64,
                        left as usize,
                        right as usize,
                    );
                }
                forest::Node::Leaf { size } => arrays.leaf(
                    t,
                    i,
                    depth[i] as f64 + forest::average_path_length(size as usize),
                ),
            }
        }
    }
    let total = arrays.sum(g, x, 0.0);
    let trees = g.f32s("trees", &[], vec![m.trees.len().max(1) as f32]);
    let mean = g.op("Div", &[&total, &trees], vec![]);
    let norm = forest::average_path_length(m.sample_size).max(f64::MIN_POSITIVE);
    let norm = g.f32s("norm", &[], vec![norm as f32]);
    let ratio = g.op("Div", &[&mean, &norm], vec![]);
    let exponent = g.op("Neg", &[&ratio], vec![]);
    let two = g.f32s("two", &[], vec![2.0]);
    g.op("Pow", &[&two, &exponent], vec![])
}

/// Σ (weight / total) · (score − center) / spread over the members, in member order.
fn ensemble_score(g: &mut GraphBuilder, e: &Ensemble, x: &str) -> Result<String> {
    let total: f32 = e.members.iter().map(|m| m.weight).sum();
    let mut sum: Option<String> = None;
    for member in &e.members {
        let score = model_score(g, &member.model, x)?;
        let center = g.f32s("center", &[], vec![member.scale.center]);
        let spread = g.f32s("spread", &[], vec![member.scale.spread]);
        let shifted = g.op("Sub", &[&score, &center], vec![]);
        let standard = g.op("Div", &[&shifted, &spread], vec![]);
        let share = g.f32s("weight", &[], vec![member.weight / total]);
        let weighted = g.op("Mul", &[&share, &standard], vec![]);
        sum = Some(match sum {
            None => weighted,
            Some(s) => g.op("Add", &[&s, &weighted], vec![]),
        });
    }
    sum.ok_or_else(|| not_exportable("the ensemble has no members"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::{RawColumn, RawTable, TrainingSet};
    use crate::train::{DetectorKind, TrainParams};

    /// A detector on a numeric column `name` and a categorical column `proto`.
    fn fitted(detector: DetectorKind, name: &str) -> Detector {
        let n = 200;
        let numbers = (0..n).map(|i| Some((i % 17) as f64)).collect();
        let text = (0..n)
            .map(|i| Some(["tcp", "udp", "icmp"][i % 3].to_string()))
            .collect();
        let raw = RawTable::from_columns(
            "t",
            vec![name.into(), "proto".into()],
            vec![RawColumn::Float(numbers), RawColumn::Text(text)],
        )
        .unwrap();
        let kinds: Vec<Option<String>> = (0..n)
            .map(|i| (i % 20 == 0).then(|| "attack".to_string()))
            .collect();
        let data =
            TrainingSet::from_raw(&raw, &kinds, &Default::default(), &Default::default()).unwrap();
        let params = TrainParams {
            hidden: vec![8],
            max_epochs: 2,
            ..TrainParams::for_detector(detector)
        }
        .check()
        .unwrap();
        Detector::fit(&data, &params).unwrap().0
    }

    #[test]
    fn the_graph_takes_raw_columns_and_gives_score_and_prediction() {
        let bytes = fitted(DetectorKind::Classifier, "bytes").to_onnx().unwrap();
        let model = ModelProto::decode(bytes.as_slice()).unwrap();
        let graph = model.graph.unwrap();
        let io = |values: &[ValueInfoProto]| -> Vec<(String, i32)> {
            values
                .iter()
                .map(|v| {
                    let t = v.r#type.as_ref().unwrap().tensor_type.as_ref().unwrap();
                    (v.name.clone(), t.elem_type)
                })
                .collect()
        };
        assert_eq!(
            io(&graph.input),
            [
                ("bytes".to_string(), data_type::DOUBLE),
                ("proto".to_string(), data_type::STRING)
            ]
        );
        assert_eq!(
            io(&graph.output),
            [
                (SCORE_OUTPUT.to_string(), data_type::FLOAT),
                (PREDICTION_OUTPUT.to_string(), data_type::INT64)
            ]
        );
        let produced: Vec<&str> = graph
            .node
            .iter()
            .flat_map(|n| n.output.iter().map(String::as_str))
            .collect();
        assert!(produced.contains(&SCORE_OUTPUT) && produced.contains(&PREDICTION_OUTPUT));
        let keys: Vec<&str> = model
            .metadata_props
            .iter()
            .map(|p| p.key.as_str())
            .collect();
        assert_eq!(
            keys,
            [
                "synthad.version",
                "synthad.detector",
                "synthad.columns",
                "synthad.threshold",
                "synthad.missing"
            ]
        );
    }

    #[test]
    fn refuses_what_it_cannot_reproduce() {
        // bf16 products: ONNX's f32 ones would score differently.
        let mut detector = fitted(DetectorKind::Classifier, "bytes");
        if let Model::Neural(m) = &mut detector.model {
            m.network.set_precision(Precision::Bf16);
        }
        let error = detector.to_onnx().unwrap_err().to_string();
        assert!(error.contains("bf16 precision"), "{error}");
        // A column named like an output.
        let error = fitted(DetectorKind::IForest, "score")
            .to_onnx()
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("\"score\"") && error.contains("rename"),
            "{error}"
        );
    }
}
