//! `extract`: BTF carved out of synthetic kernel images built here around real BTF (the `.BTF`
//! section clang wrote into a test object), in every container the extractor knows, and out
//! of broken ones. The real Debian kernel images are covered by the guest suite
//! (corebpf-cli/tests/vm_guest.rs), which compares the result with the booted kernel's
//! `/sys/kernel/btf/vmlinux`.

use std::io::Write;

use corebpf_btf::extract::{extract, Compression, Container, ExtractError, ImageKind};
use corebpf_testdata::Cpu;
use proptest::prelude::*;

/// Real BTF: the `.BTF` section of a compiled test object.
fn real_btf() -> Vec<u8> {
    use object::{Object, ObjectSection};
    let bytes = corebpf_testdata::bytes("maps", Cpu::V3);
    let file = object::File::parse(bytes.as_slice()).unwrap();
    let btf = file
        .section_by_name(".BTF")
        .unwrap()
        .data()
        .unwrap()
        .to_vec();
    corebpf_btf::Btf::parse(&btf).unwrap();
    btf
}

/// A minimal ELF64 little-endian executable with `.text`, `.BTF` (holding `btf`) and
/// `.shstrtab` sections, laid out as `vmlinux` is: section headers at the end.
fn elf_with(sections: &[(&str, &[u8])]) -> Vec<u8> {
    let mut shstrtab = vec![0u8];
    let mut names = Vec::new();
    for (name, _) in sections.iter().chain([(".shstrtab", &[][..])].iter()) {
        names.push(shstrtab.len() as u32);
        shstrtab.extend_from_slice(name.as_bytes());
        shstrtab.push(0);
    }
    let mut out = vec![0u8; 64];
    let mut placed = Vec::new();
    for (_, data) in sections {
        while out.len() % 8 != 0 {
            out.push(0);
        }
        placed.push((out.len() as u64, data.len() as u64));
        out.extend_from_slice(data);
    }
    placed.push((out.len() as u64, shstrtab.len() as u64));
    out.extend_from_slice(&shstrtab);
    while out.len() % 8 != 0 {
        out.push(0);
    }
    let shoff = out.len() as u64;
    let shnum = placed.len() as u16 + 1;
    out.extend_from_slice(&[0u8; 64]); // the null section
    for (i, (off, size)) in placed.iter().enumerate() {
        let sh_type: u32 = if i + 1 == placed.len() { 3 } else { 1 }; // STRTAB or PROGBITS
        let mut sh = Vec::with_capacity(64);
        sh.extend_from_slice(&names[i].to_le_bytes());
        sh.extend_from_slice(&sh_type.to_le_bytes());
        sh.extend_from_slice(&2u64.to_le_bytes()); // SHF_ALLOC
        sh.extend_from_slice(&0u64.to_le_bytes()); // addr
        sh.extend_from_slice(&off.to_le_bytes());
        sh.extend_from_slice(&size.to_le_bytes());
        sh.extend_from_slice(&0u32.to_le_bytes()); // link
        sh.extend_from_slice(&0u32.to_le_bytes()); // info
        sh.extend_from_slice(&1u64.to_le_bytes()); // align
        sh.extend_from_slice(&0u64.to_le_bytes()); // entsize
        out.extend_from_slice(&sh);
    }
    let h = &mut out[..64];
    h[..4].copy_from_slice(b"\x7fELF");
    h[4] = 2; // ELFCLASS64
    h[5] = 1; // little-endian
    h[6] = 1; // version
    h[16..18].copy_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    h[18..20].copy_from_slice(&62u16.to_le_bytes()); // EM_X86_64
    h[20..24].copy_from_slice(&1u32.to_le_bytes());
    h[40..48].copy_from_slice(&shoff.to_le_bytes());
    h[52..54].copy_from_slice(&64u16.to_le_bytes()); // ehsize
    h[58..60].copy_from_slice(&64u16.to_le_bytes()); // shentsize
    h[60..62].copy_from_slice(&shnum.to_le_bytes());
    h[62..64].copy_from_slice(&(shnum - 1).to_le_bytes()); // shstrndx
    out
}

fn vmlinux(btf: &[u8]) -> Vec<u8> {
    let text: Vec<u8> = (0..4096u32).map(|i| (i * 7 + 3) as u8).collect();
    elf_with(&[(".text", &text), (".BTF", btf), (".data", b"data")])
}

/// The payload as the kernel build writes it: compressed data, then for every format but
/// gzip the decompressed size as 32 bits little-endian.
fn compress(data: &[u8], c: Compression) -> Vec<u8> {
    let mut out = match c {
        Compression::Gzip => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(data).unwrap();
            return e.finish().unwrap();
        }
        Compression::Xz => {
            let mut e = liblzma::write::XzEncoder::new(Vec::new(), 1);
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        Compression::Lzma => {
            let opts = liblzma::stream::LzmaOptions::new_preset(1).unwrap();
            let stream = liblzma::stream::Stream::new_lzma_encoder(&opts).unwrap();
            let mut e = liblzma::write::XzEncoder::new_stream(Vec::new(), stream);
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        Compression::Zstd => {
            ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
        }
        Compression::Lz4 => {
            // Legacy frame: magic, then length-prefixed blocks of at most 8 MiB input. Small
            // blocks here so that several are needed.
            let mut out = 0x184c_2102u32.to_le_bytes().to_vec();
            for chunk in data.chunks(1000) {
                let block = lz4_flex::block::compress(chunk);
                out.extend_from_slice(&(block.len() as u32).to_le_bytes());
                out.extend_from_slice(&block);
            }
            out
        }
        other => panic!("no encoder for {other}"),
    };
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

/// An x86 bzImage: boot sector and one setup sector with the setup header, then the
/// protected-mode part holding `payload` after some decompressor code.
fn bzimage(payload: &[u8]) -> Vec<u8> {
    let mut img = vec![0u8; 2 * 512];
    img[0x1f1] = 1; // setup_sects
    img[0x1fe..0x200].copy_from_slice(&0xaa55u16.to_le_bytes());
    img[0x202..0x206].copy_from_slice(b"HdrS");
    img[0x206..0x208].copy_from_slice(&0x020fu16.to_le_bytes());
    let decompressor = [0x90u8; 300];
    img[0x248..0x24c].copy_from_slice(&(decompressor.len() as u32).to_le_bytes());
    img[0x24c..0x250].copy_from_slice(&(payload.len() as u32).to_le_bytes());
    img.extend_from_slice(&decompressor);
    img.extend_from_slice(payload);
    img.extend_from_slice(&[0u8; 64]);
    img
}

/// An arm64 `Image`: the 64-byte header, code, a false BTF candidate, the BTF, more data.
fn arm64_image(btf: &[u8]) -> Vec<u8> {
    let mut img = vec![0u8; 64];
    img[0x38..0x3c].copy_from_slice(b"ARM\x64");
    img.extend((0..3000u32).map(|i| (i * 13 + 1) as u8));
    // Looks like a BTF header but its sections run past the image.
    img.extend_from_slice(&[0x9f, 0xeb, 1, 0, 24, 0, 0, 0]);
    img.extend_from_slice(&[
        0, 0, 0, 0, 0xff, 0xff, 0xff, 0x0f, 0, 0, 0, 0x10, 16, 0, 0, 0,
    ]);
    while img.len() % 8 != 0 {
        img.push(0);
    }
    img.extend_from_slice(btf);
    img.extend((0..5000u32).map(|i| (i * 31 + 5) as u8));
    img
}

fn gzip(data: &[u8]) -> Vec<u8> {
    compress(data, Compression::Gzip)
}

#[test]
fn raw_btf_is_returned_as_is() {
    let btf = real_btf();
    let got = extract(&btf).unwrap();
    assert_eq!(got.kind, ImageKind::RawBtf);
    assert!(got.containers.is_empty());
    assert_eq!(got.bytes(), btf.as_slice());
    assert!(matches!(got.into_bytes(), std::borrow::Cow::Borrowed(_)));
}

#[test]
fn elf_btf_section() {
    let btf = real_btf();
    let elf = vmlinux(&btf);
    let got = extract(&elf).unwrap();
    assert_eq!(got.kind, ImageKind::Elf);
    assert_eq!(got.bytes(), btf.as_slice());
    assert_eq!(&elf[got.offset..got.offset + btf.len()], btf.as_slice());
    // The section offset is the one the ELF parser of the `object` crate reports.
    use object::{Object, ObjectSection};
    let file = object::File::parse(elf.as_slice()).unwrap();
    let (off, _) = file.section_by_name(".BTF").unwrap().file_range().unwrap();
    assert_eq!(got.offset as u64, off);
}

#[test]
fn bzimage_every_compression() {
    let btf = real_btf();
    let elf = vmlinux(&btf);
    for c in [
        Compression::Gzip,
        Compression::Xz,
        Compression::Lzma,
        Compression::Zstd,
        Compression::Lz4,
    ] {
        let payload = compress(&elf, c);
        assert_eq!(Compression::detect(&payload), Some(c));
        let img = bzimage(&payload);
        let got = extract(&img).unwrap_or_else(|e| panic!("{c}: {e}"));
        assert_eq!(got.containers, vec![Container::BzImage(c)], "{c}");
        assert_eq!(got.kind, ImageKind::Elf);
        assert_eq!(got.bytes(), btf.as_slice(), "{c}");
        assert_eq!(
            got.describe(),
            format!("bzImage ({c} payload) > ELF .BTF section")
        );
        assert_eq!(got.into_bytes().as_ref(), btf.as_slice(), "{c}");
    }
}

#[test]
fn arm64_image_and_image_gz() {
    let btf = real_btf();
    let img = arm64_image(&btf);
    let got = extract(&img).unwrap();
    assert_eq!(got.kind, ImageKind::Arm64Image);
    assert_eq!(got.bytes(), btf.as_slice());
    let at = got.offset;
    assert_eq!(&img[at..at + btf.len()], btf.as_slice());

    let gz = gzip(&img);
    let got = extract(&gz).unwrap();
    assert_eq!(
        got.containers,
        vec![Container::Compressed(Compression::Gzip)]
    );
    assert_eq!(got.kind, ImageKind::Arm64Image);
    assert_eq!(got.offset, at);
    assert_eq!(got.bytes(), btf.as_slice());
}

#[test]
fn riscv_image() {
    let btf = real_btf();
    let mut img = arm64_image(&btf);
    img[0x38..0x3c].copy_from_slice(b"RSC\x05");
    let got = extract(&img).unwrap();
    assert_eq!(got.kind, ImageKind::RiscvImage);
    assert_eq!(got.bytes(), btf.as_slice());
}

#[test]
fn efi_zboot_with_gzip_image() {
    let btf = real_btf();
    let payload = gzip(&arm64_image(&btf));
    let mut img = vec![0u8; 0x200];
    img[..2].copy_from_slice(b"MZ");
    img[4..8].copy_from_slice(b"zimg");
    img[8..12].copy_from_slice(&0x200u32.to_le_bytes());
    img[12..16].copy_from_slice(&(payload.len() as u32).to_le_bytes());
    img[0x18..0x1c].copy_from_slice(b"gzip");
    img.extend_from_slice(&payload);
    img.extend_from_slice(&[0u8; 100]);
    let got = extract(&img).unwrap();
    assert_eq!(got.containers, vec![Container::Zboot(Compression::Gzip)]);
    assert_eq!(got.bytes(), btf.as_slice());
}

#[test]
fn elf_without_btf() {
    let elf = elf_with(&[(".text", b"\x90\x90\x90\x90")]);
    let e = extract(&elf).unwrap_err();
    assert!(matches!(e, ExtractError::NoBtfSection { .. }), "{e}");
    assert!(e.to_string().contains("no .BTF section"), "{e}");
    // Inside a bzImage the message says where it looked.
    let e = extract(&bzimage(&compress(&elf, Compression::Xz))).unwrap_err();
    assert!(matches!(e, ExtractError::NoBtfSection { .. }), "{e}");
    assert!(
        e.to_string().contains("decompressed bzImage (xz payload)"),
        "{e}"
    );
}

#[test]
fn image_without_btf() {
    let btf = real_btf();
    let mut img = arm64_image(&btf);
    let at = extract(&img).unwrap().offset;
    img[at] = 0; // destroy the real header's magic
    let e = extract(&img).unwrap_err();
    let ExtractError::BtfNotFound { candidates, .. } = &e else {
        panic!("{e}");
    };
    assert_eq!(*candidates, 1, "the false candidate only: {e}");
    assert!(e.to_string().contains("run past the end"), "{e}");
}

#[test]
fn corrupt_btf_is_rejected() {
    let mut btf = real_btf();
    // A type section length that runs past the data.
    btf[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
    let e = extract(&btf).unwrap_err();
    assert!(matches!(e, ExtractError::InvalidBtf { .. }), "{e}");
    let e = extract(&vmlinux(&btf)).unwrap_err();
    assert!(matches!(e, ExtractError::InvalidBtf { .. }), "{e}");
}

#[test]
fn truncated_bzimage_payload() {
    let btf = real_btf();
    let img = bzimage(&compress(&vmlinux(&btf), Compression::Xz));
    // Cut inside the payload: the header's payload length no longer fits.
    let cut = &img[..img.len() - 64 - 100];
    let e = extract(cut).unwrap_err();
    assert!(matches!(e, ExtractError::Header { .. }), "{e}");
    assert!(e.to_string().contains("runs past the end"), "{e}");

    // A payload length that agrees with the cut: the decompressor finds the stream short.
    for c in [
        Compression::Gzip,
        Compression::Xz,
        Compression::Lzma,
        Compression::Zstd,
        Compression::Lz4,
    ] {
        let mut payload = compress(&vmlinux(&btf), c);
        payload.truncate(payload.len() / 2);
        let e = extract(&bzimage(&payload)).unwrap_err();
        assert!(
            matches!(e, ExtractError::Decompress { compression, .. } if compression == c)
                || matches!(
                    e,
                    ExtractError::Elf { .. } | ExtractError::NoBtfSection { .. }
                ),
            "{c}: {e}"
        );
    }
}

#[test]
fn unsupported_and_unknown_inputs() {
    let e = extract(b"").unwrap_err();
    assert!(matches!(e, ExtractError::Unrecognized { .. }), "{e}");
    let e = extract(b"hello, world").unwrap_err();
    assert!(e.to_string().contains("68 65 6c 6c 6f"), "{e}");
    let e = extract(&bzimage(b"BZh91AY&SY not really")).unwrap_err();
    assert!(
        matches!(
            e,
            ExtractError::UnsupportedCompression {
                compression: Compression::Bzip2,
                ..
            }
        ),
        "{e}"
    );
    let e = extract(&bzimage(b"\x00\x01\x02\x03 garbage")).unwrap_err();
    assert!(matches!(e, ExtractError::UnknownCompression { .. }), "{e}");
    // An old boot protocol without payload fields.
    let mut img = bzimage(&gzip(b"x"));
    img[0x206..0x208].copy_from_slice(&0x0204u16.to_le_bytes());
    let e = extract(&img).unwrap_err();
    assert!(e.to_string().contains("2.04"), "{e}");
}

#[test]
fn nested_compression_is_bounded() {
    let mut data = gzip(b"not an image");
    for _ in 0..6 {
        data = gzip(&data);
    }
    let e = extract(&data).unwrap_err();
    assert!(matches!(e, ExtractError::TooDeep { .. }), "{e}");
}

/// Every input built above, for the robustness properties.
fn samples() -> Vec<Vec<u8>> {
    let btf = real_btf();
    let elf = vmlinux(&btf);
    vec![
        btf.clone(),
        elf.clone(),
        bzimage(&compress(&elf, Compression::Gzip)),
        bzimage(&compress(&elf, Compression::Xz)),
        bzimage(&compress(&elf, Compression::Zstd)),
        bzimage(&compress(&elf, Compression::Lz4)),
        arm64_image(&btf),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Truncated or corrupted images give an error or a valid blob, never a panic.
    #[test]
    fn damaged_images_never_panic(
        which in 0usize..7,
        cut in any::<prop::sample::Index>(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
    ) {
        let samples = samples();
        let mut img = samples[which].clone();
        for (at, v) in flips {
            let i = at.index(img.len());
            img[i] ^= v;
        }
        let n = cut.index(img.len() + 1);
        if let Ok(found) = extract(&img[..n]) {
            corebpf_btf::Btf::parse(found.bytes()).unwrap();
        }
    }
}

#[test]
fn image_with_two_blobs_yields_the_larger() {
    // A small valid BTF before the kernel's (as an embedded BPF program's would be).
    let small = {
        let mut b = corebpf_btf::BtfBuilder::new();
        b.add_int(
            "int",
            4,
            corebpf_btf::IntEncoding(corebpf_btf::IntEncoding::SIGNED),
            0,
            32,
        )
        .unwrap();
        b.finish().unwrap()
    };
    corebpf_btf::Btf::parse(&small).unwrap();
    let btf = real_btf();
    assert!(small.len() < btf.len());
    let mut img = vec![0u8; 64];
    img[0x38..0x3c].copy_from_slice(b"ARM\x64");
    img.extend_from_slice(&small);
    img.extend_from_slice(&[0u8; 16]);
    img.extend_from_slice(&btf);
    let got = extract(&img).unwrap();
    assert_eq!(got.bytes(), btf.as_slice());
}
