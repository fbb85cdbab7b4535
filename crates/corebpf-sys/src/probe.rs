//! Feature probes: what this kernel's BTF checker accepts.
//!
//! Each probe loads a tiny BTF blob that uses one kind and reports whether the kernel took it.
//! [`btf_features`] runs every probe once per process and caches the answer; a loader uses it to
//! rewrite object BTF the kernel would refuse.

use std::sync::OnceLock;

use crate::bpf;

const KIND_INT: u32 = 1;
const KIND_PTR: u32 = 2;
const KIND_FUNC: u32 = 12;
const KIND_FUNC_PROTO: u32 = 13;
const KIND_VAR: u32 = 14;
const KIND_DATASEC: u32 = 15;
const KIND_FLOAT: u32 = 16;
const KIND_DECL_TAG: u32 = 17;
const KIND_TYPE_TAG: u32 = 18;
const KIND_ENUM64: u32 = 19;

/// BTF kinds and encodings the running kernel accepts in loaded (program/map) BTF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BtfFeatures {
    /// The kernel loads BTF at all.
    pub btf: bool,
    /// `FUNC` and `FUNC_PROTO` (Linux 5.0).
    pub func: bool,
    /// `FUNC` with global linkage (Linux 5.6).
    pub func_global: bool,
    /// `VAR` and `DATASEC` (Linux 5.2).
    pub datasec: bool,
    /// `FLOAT` (Linux 5.13).
    pub float: bool,
    /// `DECL_TAG` (Linux 5.16).
    pub decl_tag: bool,
    /// `TYPE_TAG` (Linux 5.17).
    pub type_tag: bool,
    /// `ENUM64` (Linux 6.0).
    pub enum64: bool,
}

impl BtfFeatures {
    /// Every feature present (what a current kernel supports).
    pub const ALL: BtfFeatures = BtfFeatures {
        btf: true,
        func: true,
        func_global: true,
        datasec: true,
        float: true,
        decl_tag: true,
        type_tag: true,
        enum64: true,
    };

    /// No BTF feature beyond plain types.
    pub const NONE: BtfFeatures = BtfFeatures {
        btf: true,
        func: false,
        func_global: false,
        datasec: false,
        float: false,
        decl_tag: false,
        type_tag: false,
        enum64: false,
    };
}

/// The running kernel's BTF features, probed on first use and cached for the process.
pub fn btf_features() -> BtfFeatures {
    static CACHE: OnceLock<BtfFeatures> = OnceLock::new();
    *CACHE.get_or_init(probe_btf_features)
}

/// Runs every BTF probe now (uncached).
pub fn probe_btf_features() -> BtfFeatures {
    // String tables: offsets 1 "int", 5 "x", 7 the third name.
    const INT_X_F: &[u8] = b"\0int\0x\0f\0";
    BtfFeatures {
        btf: loads(&[&INT], b"\0int\0"),
        func: loads(
            &[
                &INT,
                // int (int x)
                &[0, info(KIND_FUNC_PROTO, 1), 1, 5, 1],
                // static int f(int x)
                &[7, info(KIND_FUNC, 0), 2],
            ],
            INT_X_F,
        ),
        func_global: loads(
            &[
                &INT,
                &[0, info(KIND_FUNC_PROTO, 1), 1, 5, 1],
                &[7, info(KIND_FUNC, 1), 2],
            ],
            INT_X_F,
        ),
        datasec: loads(
            &[
                &INT,
                // int x (global)
                &[5, info(KIND_VAR, 0), 1, 1],
                // section ".data" of 4 bytes holding x at 0
                &[7, info(KIND_DATASEC, 1), 4, 2, 0, 4],
            ],
            b"\0int\0x\0.data\0",
        ),
        float: loads(&[&[1, info(KIND_FLOAT, 0), 4]], b"\0float\0"),
        decl_tag: loads(
            &[
                &INT,
                &[5, info(KIND_VAR, 0), 1, 1],
                // tag "f" on the variable itself (component -1)
                &[7, info(KIND_DECL_TAG, 0), 2, u32::MAX],
            ],
            INT_X_F,
        ),
        type_tag: loads(
            &[
                &INT,
                // int __tag("x") *
                &[5, info(KIND_TYPE_TAG, 0), 1],
                &[0, info(KIND_PTR, 0), 2],
            ],
            INT_X_F,
        ),
        enum64: loads(
            // enum f : 8 bytes { x = 1 }
            &[&[7, info(KIND_ENUM64, 1), 8, 5, 1, 0]],
            INT_X_F,
        ),
    }
}

/// `int` named at string offset 1: 4 bytes, signed, 32 bits.
const INT: [u32; 4] = [1, KIND_INT << 24, 4, (1 << 24) | 32];

/// A type record's info word: kind and vlen.
const fn info(kind: u32, vlen: u32) -> u32 {
    (kind << 24) | (vlen & 0xffff)
}

fn loads(records: &[&[u32]], strings: &[u8]) -> bool {
    bpf::btf_load(&blob(records, strings)).is_ok()
}

/// A host-order BTF blob from type records (as 32-bit words) and a string table.
fn blob(records: &[&[u32]], strings: &[u8]) -> Vec<u8> {
    let types: Vec<u8> = records
        .iter()
        .flat_map(|r| r.iter())
        .flat_map(|w| w.to_ne_bytes())
        .collect();
    let mut out = Vec::with_capacity(24 + types.len() + strings.len());
    out.extend_from_slice(&0xeb9fu16.to_ne_bytes());
    out.push(1); // version
    out.push(0); // flags
    out.extend_from_slice(&24u32.to_ne_bytes()); // header length
    out.extend_from_slice(&0u32.to_ne_bytes()); // type offset
    out.extend_from_slice(&(types.len() as u32).to_ne_bytes());
    out.extend_from_slice(&(types.len() as u32).to_ne_bytes()); // string offset
    out.extend_from_slice(&(strings.len() as u32).to_ne_bytes());
    out.extend_from_slice(&types);
    out.extend_from_slice(strings);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_layout() {
        let b = blob(&[&INT], b"\0int\0");
        assert_eq!(b.len(), 24 + 16 + 5);
        assert_eq!(&b[0..2], &0xeb9fu16.to_ne_bytes());
        assert_eq!(u32::from_ne_bytes([b[16], b[17], b[18], b[19]]), 16);
    }
}
