//! Fuzzes `--set NAME=VALUE` text: the first input byte picks a global variable of a fixed
//! object (every integer, bool, enum, char-array and struct global of the `globals` test
//! program), the rest is the value text. Setting must succeed or fail with an error, never
//! panic. The object is read from `$COREBPF_FUZZ_OBJECT` (`scripts/fuzz.sh seed` builds it
//! into `fuzz/objects/globals.o`).
#![no_main]

use corebpf::OpenObject;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

/// The object's bytes and its global variables' names.
fn object() -> &'static (Vec<u8>, Vec<String>) {
    static OBJ: OnceLock<(Vec<u8>, Vec<String>)> = OnceLock::new();
    OBJ.get_or_init(|| {
        let path = std::env::var("COREBPF_FUZZ_OBJECT")
            .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/objects/globals.o").into());
        match OpenObject::open(&path) {
            Ok(o) => {
                let names = o.globals().iter().map(|g| g.name.clone()).collect();
                (o.bytes().to_vec(), names)
            }
            Err(e) => panic!("set_value needs the object {path}: {e} (run scripts/fuzz.sh seed)"),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let (bytes, globals) = object();
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let Some(name) = globals.get(usize::from(pick) % globals.len().max(1)) else {
        return;
    };
    let Ok(mut obj) = OpenObject::open_bytes("globals", bytes.clone()) else {
        return;
    };
    let _ = obj.set_global_str(name, text);
});
