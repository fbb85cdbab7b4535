//! BTF and BTF.ext: zero-copy reader, type queries, writer, C header and JSON output.
//!
//! Pure: bytes in, types or errors out.
