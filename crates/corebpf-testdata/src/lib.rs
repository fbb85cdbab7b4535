//! The BPF C programs of `tests/bpf`, compiled by this crate's build script with clang-19 for
//! cpu v3 and v4 (and big-endian where a program needs no kernel headers), for x86 register
//! layouts; programs that use `bpf_tracing.h` without `vmlinux.h` are built for arm64 too
//! ([`arm64_objects`]).
//!
//! A dev-dependency for every crate's tests: they share one set of real compiler output instead
//! of checking binaries into the repository.

use std::path::Path;

/// The BPF instruction-set version an object was compiled for (`-mcpu=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cpu {
    V3,
    V4,
}

/// The byte order an object was compiled for (`-target bpfel` / `bpfeb`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endian {
    Little,
    Big,
}

/// The architecture whose register layout `bpf_tracing.h` follows (`-D__TARGET_ARCH_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Arch {
    X86,
    Arm64,
}

/// One compiled test object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TestObject {
    /// The program's base name: `execsnoop` for `tests/bpf/execsnoop.bpf.c`.
    pub name: &'static str,
    pub cpu: Cpu,
    pub endian: Endian,
    pub arch: Arch,
    /// Whether the program includes the generated `vmlinux.h` (CO-RE against kernel types).
    pub uses_vmlinux: bool,
    path: &'static str,
    source: &'static str,
}

impl TestObject {
    /// The compiled `.o` file.
    pub fn path(&self) -> &'static Path {
        Path::new(self.path)
    }

    /// The C source it was compiled from.
    pub fn source(&self) -> &'static Path {
        Path::new(self.source)
    }

    /// The object's bytes.
    pub fn read(&self) -> std::io::Result<Vec<u8>> {
        std::fs::read(self.path)
    }

    /// A short label for messages: `execsnoop (v3, little-endian)`, `kprobe_regs (v3,
    /// little-endian, arm64)`.
    pub fn label(&self) -> String {
        let cpu = match self.cpu {
            Cpu::V3 => "v3",
            Cpu::V4 => "v4",
        };
        let endian = match self.endian {
            Endian::Little => "little-endian",
            Endian::Big => "big-endian",
        };
        match self.arch {
            Arch::X86 => format!("{} ({cpu}, {endian})", self.name),
            Arch::Arm64 => format!("{} ({cpu}, {endian}, arm64)", self.name),
        }
    }
}

include!(concat!(env!("OUT_DIR"), "/objects.rs"));

/// Every compiled test object for x86 (the host's architecture, whose `vmlinux.h` the programs
/// see), in a stable order (by name, then v3, v4, big-endian).
pub fn objects() -> &'static [TestObject] {
    OBJECTS
}

/// The arm64 builds (`-D__TARGET_ARCH_arm64`, v3 and v4) of the programs that read probe
/// registers through `bpf_tracing.h` and declare their own kernel types: for relocation against
/// an arm64 kernel's BTF, not for loading here.
pub fn arm64_objects() -> &'static [TestObject] {
    ARM64_OBJECTS
}

/// The little-endian object `name` compiled for `cpu`, if there is such a program.
pub fn find(name: &str, cpu: Cpu) -> Option<&'static TestObject> {
    OBJECTS
        .iter()
        .find(|o| o.name == name && o.cpu == cpu && o.endian == Endian::Little)
}

/// The big-endian build of `name`, for programs that have one.
pub fn find_big_endian(name: &str) -> Option<&'static TestObject> {
    OBJECTS
        .iter()
        .find(|o| o.name == name && o.endian == Endian::Big)
}

/// The path of the little-endian object `name` compiled for `cpu`.
///
/// # Panics
/// When `tests/bpf/<name>.bpf.c` does not exist: a mistake in the calling test.
pub fn object(name: &str, cpu: Cpu) -> &'static Path {
    match find(name, cpu) {
        Some(o) => o.path(),
        None => panic!("no test object {name:?} for {cpu:?}: is there a tests/bpf/{name}.bpf.c?"),
    }
}

/// The bytes of the little-endian object `name` compiled for `cpu`.
///
/// # Panics
/// When the object does not exist or cannot be read (see [`object`]).
pub fn bytes(name: &str, cpu: Cpu) -> Vec<u8> {
    let path = object(name, cpu);
    std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The generated `vmlinux.h`.
pub fn vmlinux_header() -> &'static Path {
    Path::new(VMLINUX_H)
}

/// The directory holding the BPF C sources (`tests/bpf`).
pub fn source_dir() -> &'static Path {
    Path::new(SOURCE_DIR)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_source_is_compiled_for_v3_and_v4() {
        let mut sources: Vec<String> = std::fs::read_dir(source_dir())
            .expect("tests/bpf is readable")
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().into_string().ok())
            .filter_map(|f| f.strip_suffix(".bpf.c").map(str::to_string))
            .collect();
        sources.sort();
        assert!(
            sources.len() >= 10,
            "expected at least 10 programs, found {sources:?}"
        );
        for name in &sources {
            for cpu in [Cpu::V3, Cpu::V4] {
                let bytes = bytes(name, cpu);
                // An ELF64 relocatable object for EM_BPF (247), little-endian.
                assert_eq!(&bytes[..4], b"\x7fELF", "{name} {cpu:?}");
                assert_eq!(bytes[4], 2, "{name}: ELFCLASS64");
                assert_eq!(bytes[5], 1, "{name}: ELFDATA2LSB");
                assert_eq!(
                    u16::from_le_bytes([bytes[18], bytes[19]]),
                    247,
                    "{name}: EM_BPF"
                );
            }
        }
    }

    #[test]
    fn big_endian_builds_are_big_endian() {
        let big: Vec<_> = objects()
            .iter()
            .filter(|o| o.endian == Endian::Big)
            .collect();
        assert!(!big.is_empty());
        for o in big {
            assert!(!o.uses_vmlinux, "{}", o.label());
            let bytes = o.read().expect("readable object");
            assert_eq!(bytes[5], 2, "{}: ELFDATA2MSB", o.label());
            assert_eq!(
                u16::from_be_bytes([bytes[18], bytes[19]]),
                247,
                "{}: EM_BPF",
                o.label()
            );
        }
    }

    #[test]
    fn arm64_builds_use_arm64_registers() {
        let arm: Vec<_> = arm64_objects().iter().collect();
        assert!(
            arm.iter().any(|o| o.name == "kprobe_regs"),
            "kprobe_regs has arm64 builds"
        );
        for o in arm {
            assert_eq!(o.arch, Arch::Arm64, "{}", o.label());
            let bytes = o.read().expect("readable object");
            // The arm64 register structure is in the object's BTF; x86's is not.
            let has = |s: &[u8]| bytes.windows(s.len()).any(|w| w == s);
            assert!(has(b"\0user_pt_regs\0"), "{}", o.label());
            assert!(!has(b"\0orig_ax\0"), "{}", o.label());
        }
        assert!(objects().iter().all(|o| o.arch == Arch::X86));
    }

    #[test]
    fn vmlinux_header_declares_task_struct() {
        let text = std::fs::read_to_string(vmlinux_header()).expect("vmlinux.h is readable");
        assert!(text.contains("struct task_struct {"));
    }
}

/// Maps of the test programs declared `LIBBPF_PIN_BY_NAME`: libbpf (and so `bpftool prog
/// loadall`) pins them under `/sys/fs/bpf` whatever directory the programs go to.
const PINNED_BY_NAME: &[(&str, &[&str])] = &[("maps", &["flows", "outer_hash"])];

/// Removes, on drop, the by-name pins of object `name` that did not exist when it was created:
/// hold one around a `bpftool prog loadall` of a test object so the run leaves nothing behind.
#[derive(Debug)]
pub struct ByNamePins {
    created_by_us: Vec<std::path::PathBuf>,
}

impl ByNamePins {
    pub fn new(name: &str) -> ByNamePins {
        let created_by_us = PINNED_BY_NAME
            .iter()
            .filter(|(obj, _)| *obj == name)
            .flat_map(|(_, maps)| maps.iter())
            .map(|m| Path::new("/sys/fs/bpf").join(m))
            .filter(|p| !p.exists())
            .collect();
        ByNamePins { created_by_us }
    }
}

impl Drop for ByNamePins {
    fn drop(&mut self) {
        for p in &self.created_by_us {
            let _ = std::fs::remove_file(p);
        }
    }
}
