//! The parquet reader on arbitrary bytes: an error or a table, never a panic or an abort.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use synthad::ingest::Format;

fuzz_target!(
    init: {
        // The parquet crate panics on some damaged files, and synthad's reader contains those
        // panics (`catch_unwind`) and reports the file as damaged. libfuzzer-sys's hook would
        // abort at the panic, before the reader catches it; without the hook, a contained
        // panic is the error it becomes, and a panic that escapes synthad still reaches
        // libfuzzer-sys's own `catch_unwind`, which aborts: still a crash.
        std::panic::set_hook(Box::new(|_| {}));
    },
    |data: &[u8]| common::read_and_prepare(data, Format::Parquet)
);
