//! Enums of named choices (a detector, a mode, a precision): one spelling each, shared by the
//! command line, messages and the model file.

use crate::error::{Error, Result};

pub trait Choice: Copy + PartialEq + Sized + 'static {
    /// What is chosen, for messages: "detector".
    const WHAT: &'static str;
    /// Every choice, in the order help lists them.
    const ALL: &'static [Self];

    /// The spelling: "deepsad".
    fn name(self) -> &'static str;

    /// One line on what the choice means.
    fn about(self) -> &'static str;

    /// The choice spelled `s`.
    fn parse(s: &str) -> Result<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|c| c.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|c| c.name()).collect();
                Error::invalid(
                    Self::WHAT,
                    format!("{s:?}"),
                    format!("one of {}", names.join(", ")),
                )
            })
    }
}
