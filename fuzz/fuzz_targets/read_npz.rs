//! The npz reader on arbitrary bytes: an error or a table, never a panic or an abort.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use synthad::ingest::Format;

fuzz_target!(|data: &[u8]| common::read_and_prepare(data, Format::Npz));
