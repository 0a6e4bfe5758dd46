//! A small builder for an ONNX graph: nodes with one output each, constants as initializers,
//! and every intermediate name unique and out of the way of the model's input names.

use super::onnx_proto::{attribute_type, data_type, AttributeProto, NodeProto, TensorProto};

/// The ONNX operator domain of the traditional-ML operators (tree ensembles, encoders).
pub const ML_DOMAIN: &str = "ai.onnx.ml";
/// Prefix of every name the builder makes; input columns never start with it (see `export`).
pub const PREFIX: &str = "synthad::";

#[derive(Default)]
pub struct GraphBuilder {
    pub nodes: Vec<NodeProto>,
    pub initializers: Vec<TensorProto>,
    made: usize,
}

impl GraphBuilder {
    fn fresh(&mut self, hint: &str) -> String {
        self.made += 1;
        format!("{PREFIX}{hint}_{}", self.made)
    }

    fn constant(&mut self, hint: &str, mut tensor: TensorProto) -> String {
        let name = self.fresh(hint);
        tensor.name = name.clone();
        self.initializers.push(tensor);
        name
    }

    pub fn f32s(&mut self, hint: &str, dims: &[usize], values: Vec<f32>) -> String {
        self.constant(hint, float_tensor(dims, values))
    }

    pub fn f64s(&mut self, hint: &str, dims: &[usize], values: Vec<f64>) -> String {
        self.constant(hint, double_tensor(dims, values))
    }

    pub fn i64s(&mut self, hint: &str, dims: &[usize], values: Vec<i64>) -> String {
        self.constant(
            hint,
            TensorProto {
                dims: dims_of(dims),
                data_type: data_type::INT64,
                int64_data: values,
                ..Default::default()
            },
        )
    }

    /// An `ai.onnx` node; returns its output's name.
    pub fn op(
        &mut self,
        op_type: &str,
        inputs: &[&str],
        attributes: Vec<AttributeProto>,
    ) -> String {
        self.op_in("", op_type, inputs, attributes)
    }

    /// An `ai.onnx.ml` node; returns its output's name.
    pub fn ml(
        &mut self,
        op_type: &str,
        inputs: &[&str],
        attributes: Vec<AttributeProto>,
    ) -> String {
        self.op_in(ML_DOMAIN, op_type, inputs, attributes)
    }

    fn op_in(
        &mut self,
        domain: &str,
        op_type: &str,
        inputs: &[&str],
        attributes: Vec<AttributeProto>,
    ) -> String {
        let output = self.fresh(&op_type.to_lowercase());
        self.nodes.push(NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![output.clone()],
            name: output.clone(),
            op_type: op_type.into(),
            attribute: attributes,
            domain: domain.into(),
        });
        output
    }

    /// Renames the output of the last node (to a graph output's name).
    pub fn rename_last(&mut self, name: &str) {
        let node = self.nodes.last_mut().expect("a node to rename");
        node.output[0] = name.into();
    }
}

fn dims_of(dims: &[usize]) -> Vec<i64> {
    dims.iter().map(|&d| d as i64).collect()
}

pub fn float_tensor(dims: &[usize], values: Vec<f32>) -> TensorProto {
    TensorProto {
        dims: dims_of(dims),
        data_type: data_type::FLOAT,
        float_data: values,
        ..Default::default()
    }
}

pub fn double_tensor(dims: &[usize], values: Vec<f64>) -> TensorProto {
    TensorProto {
        dims: dims_of(dims),
        data_type: data_type::DOUBLE,
        double_data: values,
        ..Default::default()
    }
}

/// Node attributes, by kind.
pub mod attr {
    use super::*;

    fn named(name: &str, kind: i32) -> AttributeProto {
        AttributeProto {
            name: name.into(),
            r#type: kind,
            ..Default::default()
        }
    }

    pub fn int(name: &str, i: i64) -> AttributeProto {
        AttributeProto {
            i,
            ..named(name, attribute_type::INT)
        }
    }

    pub fn string(name: &str, s: &str) -> AttributeProto {
        AttributeProto {
            s: s.as_bytes().to_vec(),
            ..named(name, attribute_type::STRING)
        }
    }

    pub fn ints(name: &str, ints: Vec<i64>) -> AttributeProto {
        AttributeProto {
            ints,
            ..named(name, attribute_type::INTS)
        }
    }

    pub fn strings<S: AsRef<str>>(name: &str, strings: &[S]) -> AttributeProto {
        AttributeProto {
            strings: strings
                .iter()
                .map(|s| s.as_ref().as_bytes().to_vec())
                .collect(),
            ..named(name, attribute_type::STRINGS)
        }
    }

    pub fn tensor(name: &str, t: TensorProto) -> AttributeProto {
        AttributeProto {
            t: Some(t),
            ..named(name, attribute_type::TENSOR)
        }
    }
}
