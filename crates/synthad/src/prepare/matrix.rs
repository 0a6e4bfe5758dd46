/// A dense row-major f32 matrix: the encoded features that flow from prepare to scoring.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    pub rows: usize,
    pub cols: usize,
    pub data: Vec<f32>,
}

impl Matrix {
    pub fn zeros(rows: usize, cols: usize) -> Matrix {
        Matrix {
            rows,
            cols,
            data: vec![0.0; rows * cols],
        }
    }

    pub fn from_rows(cols: usize, data: Vec<f32>) -> Matrix {
        assert!(
            cols > 0 && data.len().is_multiple_of(cols),
            "data is not a whole number of rows"
        );
        Matrix {
            rows: data.len() / cols,
            cols,
            data,
        }
    }

    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }

    pub fn row_mut(&mut self, i: usize) -> &mut [f32] {
        &mut self.data[i * self.cols..(i + 1) * self.cols]
    }

    /// A new matrix of the given rows, in that order.
    pub fn select_rows(&self, rows: &[usize]) -> Matrix {
        let mut data = Vec::with_capacity(rows.len() * self.cols);
        for &r in rows {
            data.extend_from_slice(self.row(r));
        }
        Matrix {
            rows: rows.len(),
            cols: self.cols,
            data,
        }
    }

    /// Stacks matrices of equal width on top of each other.
    pub fn vstack(parts: &[&Matrix]) -> Matrix {
        let cols = parts.first().map_or(0, |m| m.cols);
        assert!(parts.iter().all(|m| m.cols == cols), "widths differ");
        let mut data = Vec::with_capacity(parts.iter().map(|m| m.data.len()).sum());
        for m in parts {
            data.extend_from_slice(&m.data);
        }
        Matrix {
            rows: parts.iter().map(|m| m.rows).sum(),
            cols,
            data,
        }
    }
}
