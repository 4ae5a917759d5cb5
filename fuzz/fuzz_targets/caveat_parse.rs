#![no_main]
//! See `macaroon_mint_fuzz::caveat` for the oracle.

libfuzzer_sys::fuzz_target!(|data: &[u8]| macaroon_mint_fuzz::caveat::caveat_parse(data));
