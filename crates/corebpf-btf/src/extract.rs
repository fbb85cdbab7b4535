//! Carving the kernel's BTF out of kernel images.
//!
//! [`extract`] takes the bytes of a kernel image and returns the raw BTF blob the kernel
//! exposes as `/sys/kernel/btf/vmlinux`. Recognised inputs:
//!
//! - an ELF `vmlinux`: the `.BTF` section;
//! - an x86 `bzImage`: the setup header gives the compressed payload (gzip, xz, lzma, zstd or
//!   lz4), which holds an ELF `vmlinux`;
//! - an arm64 or RISC-V `Image`, which is the kernel's memory image without ELF structure: the
//!   BTF blob is found by its header magic and accepted only when its header lengths fit and
//!   the whole blob parses;
//! - any of these compressed as a whole (`Image.gz`, `vmlinux.xz`, ...), and an EFI zboot
//!   image (`vmlinuz.efi`) whose payload is one of them;
//! - raw BTF, returned as it is once it parses.
//!
//! Pure: bytes in, bytes out. Decompression writes into one buffer sized from the size the
//! kernel build appends to its payloads, when there is one.

use std::borrow::Cow;
use std::fmt;
use std::io::Read;
use std::ops::Range;

use crate::{Btf, BtfError};

/// Largest decompressed image accepted (a kernel is a few hundred MiB at most).
pub const MAX_DECOMPRESSED: usize = 2 << 30;

/// How deep compressed containers may nest (`Image.gz` inside zboot is two levels).
const MAX_NESTING: u32 = 3;

/// A compression format found in a kernel image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Gzip,
    Xz,
    Lzma,
    Zstd,
    Lz4,
    Bzip2,
    Lzo,
}

impl Compression {
    /// Recognises a compressed stream by its first bytes.
    pub fn detect(data: &[u8]) -> Option<Compression> {
        const TABLE: &[(&[u8], Compression)] = &[
            (&[0x1f, 0x8b], Compression::Gzip),
            (&[0x1f, 0x9e], Compression::Gzip),
            (&[0xfd, b'7', b'z', b'X', b'Z', 0x00], Compression::Xz),
            (&[0x28, 0xb5, 0x2f, 0xfd], Compression::Zstd),
            (&[0x02, 0x21, 0x4c, 0x18], Compression::Lz4),
            (b"BZh", Compression::Bzip2),
            (&[0x89, b'L', b'Z', b'O', 0x00], Compression::Lzo),
            // lzma_alone: properties byte 0x5d and a dictionary size ending in zero bytes.
            (&[0x5d, 0x00, 0x00], Compression::Lzma),
        ];
        TABLE
            .iter()
            .find(|(magic, _)| data.starts_with(magic))
            .map(|&(_, c)| c)
    }

    /// The format's usual name.
    pub fn name(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Xz => "xz",
            Compression::Lzma => "lzma",
            Compression::Zstd => "zstd",
            Compression::Lz4 => "lz4",
            Compression::Bzip2 => "bzip2",
            Compression::Lzo => "lzo",
        }
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The kind of image the BTF was found in, outermost container first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    /// The input was raw BTF already.
    RawBtf,
    /// An ELF `vmlinux` (`.BTF` section).
    Elf,
    /// An arm64 `Image` (BTF found by magic).
    Arm64Image,
    /// A RISC-V `Image` (BTF found by magic).
    RiscvImage,
}

impl fmt::Display for ImageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ImageKind::RawBtf => "raw BTF",
            ImageKind::Elf => "ELF .BTF section",
            ImageKind::Arm64Image => "arm64 Image",
            ImageKind::RiscvImage => "RISC-V Image",
        })
    }
}

/// A compressed layer that was opened on the way to the BTF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// An x86 bzImage whose payload used this compression.
    BzImage(Compression),
    /// An EFI zboot image whose payload used this compression.
    Zboot(Compression),
    /// The whole file compressed with this format.
    Compressed(Compression),
}

impl fmt::Display for Container {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Container::BzImage(c) => write!(f, "bzImage ({c} payload)"),
            Container::Zboot(c) => write!(f, "EFI zboot image ({c} payload)"),
            Container::Compressed(c) => write!(f, "{c} file"),
        }
    }
}

/// What went wrong while extracting BTF from a kernel image.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExtractError {
    /// The bytes are none of the recognised image formats.
    #[error("not a kernel image: no ELF, bzImage, arm64/RISC-V Image, EFI zboot, compressed or raw BTF signature (first bytes {head})")]
    Unrecognized { head: String },
    /// An ELF file that cannot be read.
    #[error("{within}: malformed ELF: {problem}")]
    Elf { within: String, problem: String },
    /// An ELF file without a `.BTF` section.
    #[error("{within}: ELF has no .BTF section (kernel built without CONFIG_DEBUG_INFO_BTF?)")]
    NoBtfSection { within: String },
    /// A bzImage or zboot header field is inconsistent.
    #[error("{container} header: {problem}")]
    Header {
        container: &'static str,
        problem: String,
    },
    /// A compression format this extractor does not decode.
    #[error(
        "{within}: {compression} compression is not supported (gzip, xz, lzma, zstd and lz4 are)"
    )]
    UnsupportedCompression {
        within: String,
        compression: Compression,
    },
    /// A payload whose first bytes are no known compression format.
    #[error("{within}: payload at offset {offset} is in an unknown compression format (first bytes {head})")]
    UnknownCompression {
        within: String,
        offset: usize,
        head: String,
    },
    /// The decompressor refused the data.
    #[error("{within}: {compression} data is corrupt or truncated: {problem}")]
    Decompress {
        within: String,
        compression: Compression,
        problem: String,
    },
    /// Decompressed data larger than [`MAX_DECOMPRESSED`].
    #[error("{within}: decompressed data exceeds {limit} bytes")]
    TooLarge { within: String, limit: usize },
    /// Compressed containers nested deeper than any kernel image.
    #[error("{within}: compressed data nested more than {MAX_NESTING} levels deep")]
    TooDeep { within: String },
    /// A memory image with no valid BTF blob in it.
    #[error("{within}: no BTF found ({candidates} candidate header(s) rejected{last})")]
    BtfNotFound {
        within: String,
        candidates: usize,
        last: String,
    },
    /// The BTF found does not parse.
    #[error("{within}: BTF at offset {offset} is invalid: {source}")]
    InvalidBtf {
        within: String,
        offset: usize,
        #[source]
        source: BtfError,
    },
}

/// BTF extracted from a kernel image.
#[derive(Debug)]
pub struct Extracted<'a> {
    data: Data<'a>,
    /// The image format the BTF was carved from (innermost).
    pub kind: ImageKind,
    /// Compressed layers opened on the way, outermost first.
    pub containers: Vec<Container>,
    /// Offset of the BTF blob in the innermost (decompressed) image.
    pub offset: usize,
}

#[derive(Debug)]
enum Data<'a> {
    Borrowed(&'a [u8]),
    /// A decompressed image and the BTF's place in it (no copy is made).
    Owned(Vec<u8>, Range<usize>),
}

impl<'a> Extracted<'a> {
    /// The raw BTF bytes (as in `/sys/kernel/btf/vmlinux`).
    pub fn bytes(&self) -> &[u8] {
        match &self.data {
            Data::Borrowed(b) => b,
            Data::Owned(v, r) => v.get(r.clone()).unwrap_or_default(),
        }
    }

    /// The raw BTF bytes, borrowed from the input when nothing had to be decompressed.
    pub fn into_bytes(self) -> Cow<'a, [u8]> {
        match self.data {
            Data::Borrowed(b) => Cow::Borrowed(b),
            Data::Owned(mut v, r) => {
                v.truncate(r.end);
                v.drain(..r.start);
                Cow::Owned(v)
            }
        }
    }

    /// One line saying where the BTF came from: `bzImage (xz payload) > ELF .BTF section`.
    pub fn describe(&self) -> String {
        let mut s = String::new();
        for c in &self.containers {
            s.push_str(&c.to_string());
            s.push_str(" > ");
        }
        s.push_str(&self.kind.to_string());
        s
    }
}

/// Extracts the kernel BTF from the bytes of a kernel image (see the module docs).
///
/// The blob returned has been parsed and validated with [`Btf::parse`].
pub fn extract(image: &[u8]) -> Result<Extracted<'_>, ExtractError> {
    let mut containers = Vec::new();
    match locate(image, &mut containers, 0)? {
        Found::Borrowed { range, kind } => {
            let offset = range.start;
            let bytes = image.get(range).unwrap_or_default();
            Ok(Extracted {
                data: Data::Borrowed(bytes),
                kind,
                containers,
                offset,
            })
        }
        Found::Owned { buf, range, kind } => Ok(Extracted {
            offset: range.start,
            data: Data::Owned(buf, range),
            kind,
            containers,
        }),
    }
}

enum Found {
    /// BTF at `range` of the bytes `locate` was given.
    Borrowed {
        range: Range<usize>,
        kind: ImageKind,
    },
    /// BTF at `range` of a decompressed buffer.
    Owned {
        buf: Vec<u8>,
        range: Range<usize>,
        kind: ImageKind,
    },
}

fn layer_name(containers: &[Container]) -> String {
    match containers.last() {
        None => "image".to_owned(),
        Some(c) => format!("decompressed {c}"),
    }
}

fn hex_head(data: &[u8]) -> String {
    let n = data.len().min(8);
    if n == 0 {
        return "none: empty input".to_owned();
    }
    let mut s = String::with_capacity(3 * n);
    for (i, b) in data.iter().take(n).enumerate() {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(&format!("{b:02x}"));
    }
    s
}

fn u16_le(data: &[u8], off: usize) -> Option<u16> {
    data.get(off..off.checked_add(2)?)
        .map(|b| u16::from_le_bytes([b[0], b[1]]))
}

fn u32_le(data: &[u8], off: usize) -> Option<u32> {
    let b: [u8; 4] = data.get(off..off.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_le_bytes(b))
}

/// Finds the BTF in `data`, decompressing containers on the way.
fn locate(data: &[u8], containers: &mut Vec<Container>, depth: u32) -> Result<Found, ExtractError> {
    if data.starts_with(b"\x7fELF") {
        let range = elf_btf(data, &layer_name(containers))?;
        return Ok(Found::Borrowed {
            range,
            kind: ImageKind::Elf,
        });
    }
    if data.starts_with(&[0x9f, 0xeb]) || data.starts_with(&[0xeb, 0x9f]) {
        validate(data, 0, &layer_name(containers))?;
        return Ok(Found::Borrowed {
            range: 0..data.len(),
            kind: ImageKind::RawBtf,
        });
    }
    if is_bzimage(data) {
        let (payload, offset) = bzimage_payload(data)?;
        return open(payload, offset, containers, depth, Container::BzImage);
    }
    if data.get(4..8) == Some(b"zimg") && data.starts_with(b"MZ") {
        let (payload, offset) = zboot_payload(data)?;
        return open(payload, offset, containers, depth, Container::Zboot);
    }
    if data.get(0x38..0x3c) == Some(b"ARM\x64") {
        return scan(data, ImageKind::Arm64Image, &layer_name(containers));
    }
    if data.get(0x38..0x3c) == Some(b"RSC\x05") {
        return scan(data, ImageKind::RiscvImage, &layer_name(containers));
    }
    if Compression::detect(data).is_some() {
        return open(data, 0, containers, depth, Container::Compressed);
    }
    Err(ExtractError::Unrecognized {
        head: hex_head(data),
    })
}

/// Decompresses `payload` and looks for the BTF inside.
fn open(
    payload: &[u8],
    offset: usize,
    containers: &mut Vec<Container>,
    depth: u32,
    wrap: fn(Compression) -> Container,
) -> Result<Found, ExtractError> {
    let within = layer_name(containers);
    let Some(compression) = Compression::detect(payload) else {
        return Err(ExtractError::UnknownCompression {
            within,
            offset,
            head: hex_head(payload),
        });
    };
    if depth >= MAX_NESTING {
        return Err(ExtractError::TooDeep { within });
    }
    let buf = decompress(payload, compression, &within)?;
    containers.push(wrap(compression));
    match locate(&buf, containers, depth + 1)? {
        Found::Borrowed { range, kind } => Ok(Found::Owned { buf, range, kind }),
        owned @ Found::Owned { .. } => Ok(owned),
    }
}

/// The `.BTF` section of an ELF file, as a range of `data`.
fn elf_btf(data: &[u8], within: &str) -> Result<Range<usize>, ExtractError> {
    use object::{Object, ObjectSection};
    let file = object::File::parse(data).map_err(|e| ExtractError::Elf {
        within: within.to_owned(),
        problem: e.to_string(),
    })?;
    let sec = file
        .section_by_name(".BTF")
        .ok_or_else(|| ExtractError::NoBtfSection {
            within: within.to_owned(),
        })?;
    let (off, len) = sec.file_range().ok_or_else(|| ExtractError::Elf {
        within: within.to_owned(),
        problem: ".BTF section has no file contents".to_owned(),
    })?;
    let range = usize::try_from(off)
        .ok()
        .zip(usize::try_from(len).ok())
        .and_then(|(o, l)| Some(o..o.checked_add(l)?))
        .filter(|r| r.end <= data.len())
        .ok_or_else(|| ExtractError::Elf {
            within: within.to_owned(),
            problem: format!(
                ".BTF section (offset {off}, size {len}) runs past the end of the {} byte file",
                data.len()
            ),
        })?;
    validate(
        data.get(range.clone()).unwrap_or_default(),
        off as usize,
        within,
    )?;
    Ok(range)
}

fn validate(btf: &[u8], offset: usize, within: &str) -> Result<(), ExtractError> {
    Btf::parse(btf)
        .map(|_| ())
        .map_err(|source| ExtractError::InvalidBtf {
            within: within.to_owned(),
            offset,
            source,
        })
}

// --- x86 bzImage ---

/// Offsets in the x86 boot protocol's setup header (Documentation/arch/x86/boot.rst).
const BZ_SETUP_SECTS: usize = 0x1f1;
const BZ_BOOT_FLAG: usize = 0x1fe;
const BZ_HEADER: usize = 0x202;
const BZ_VERSION: usize = 0x206;
const BZ_PAYLOAD_OFFSET: usize = 0x248;
const BZ_PAYLOAD_LENGTH: usize = 0x24c;

fn is_bzimage(data: &[u8]) -> bool {
    data.get(BZ_HEADER..BZ_HEADER + 4) == Some(b"HdrS")
        && u16_le(data, BZ_BOOT_FLAG) == Some(0xaa55)
}

fn bz_err(problem: String) -> ExtractError {
    ExtractError::Header {
        container: "bzImage setup",
        problem,
    }
}

/// The compressed payload of a bzImage and its offset in the file.
fn bzimage_payload(data: &[u8]) -> Result<(&[u8], usize), ExtractError> {
    let version = u16_le(data, BZ_VERSION).unwrap_or(0);
    if version < 0x0208 {
        return Err(bz_err(format!(
            "boot protocol {}.{:02} has no payload fields (2.08 or later needed)",
            version >> 8,
            version & 0xff
        )));
    }
    let (Some(off), Some(len)) = (
        u32_le(data, BZ_PAYLOAD_OFFSET),
        u32_le(data, BZ_PAYLOAD_LENGTH),
    ) else {
        return Err(bz_err(format!(
            "file of {} bytes ends inside the setup header",
            data.len()
        )));
    };
    let setup_sects = match data.get(BZ_SETUP_SECTS).copied().unwrap_or(0) {
        0 => 4,
        n => usize::from(n),
    };
    // The payload offset counts from the protected-mode code, which follows the boot
    // sector and the setup sectors.
    let pm_start = (setup_sects + 1) * 512;
    let start = pm_start.saturating_add(off as usize);
    let end = start.saturating_add(len as usize);
    if len == 0 {
        return Err(bz_err("payload length is zero".to_owned()));
    }
    let payload = data.get(start..end).ok_or_else(|| {
        bz_err(format!(
            "payload at offset {start} of {len} bytes runs past the end of the {} byte file (truncated?)",
            data.len()
        ))
    })?;
    Ok((payload, start))
}

// --- EFI zboot ---

/// The payload of an EFI zboot image (`MZ`, `zimg`, payload offset and size, compression name).
fn zboot_payload(data: &[u8]) -> Result<(&[u8], usize), ExtractError> {
    let err = |problem: String| ExtractError::Header {
        container: "EFI zboot",
        problem,
    };
    let (Some(off), Some(len)) = (u32_le(data, 8), u32_le(data, 12)) else {
        return Err(err("truncated header".to_owned()));
    };
    let (start, len) = (off as usize, len as usize);
    let payload = data
        .get(start..start.saturating_add(len))
        .ok_or_else(|| {
            err(format!(
                "payload at offset {start} of {len} bytes runs past the end of the {} byte file (truncated?)",
                data.len()
            ))
        })?;
    Ok((payload, start))
}

// --- memory images without ELF structure ---

/// Finds a BTF blob by its header in an image with no section table.
///
/// A candidate is a little- or big-endian BTF magic followed by version 1, flags 0 and the
/// standard header length; it is accepted when its type and string sections fit in the image
/// and the blob it delimits parses completely. Of several valid blobs (a kernel may carry the
/// small BTF of an embedded BPF program too) the largest is the kernel's own.
fn scan(data: &[u8], kind: ImageKind, within: &str) -> Result<Found, ExtractError> {
    const LE: [u8; 8] = [0x9f, 0xeb, 1, 0, 24, 0, 0, 0];
    const BE: [u8; 8] = [0xeb, 0x9f, 1, 0, 0, 0, 0, 24];
    let mut candidates = 0;
    let mut last = String::new();
    let mut best: Option<Range<usize>> = None;
    for (pattern, le) in [(LE, true), (BE, false)] {
        for pos in memchr::memmem::find_iter(data, &pattern) {
            candidates += 1;
            match candidate(data, pos, le) {
                Ok(range) => {
                    if best.as_ref().map_or(true, |b| range.len() > b.len()) {
                        best = Some(range);
                    }
                }
                Err(e) => last = format!("; at offset {pos}: {e}"),
            }
        }
    }
    match best {
        Some(range) => Ok(Found::Borrowed { range, kind }),
        None => Err(ExtractError::BtfNotFound {
            within: within.to_owned(),
            candidates,
            last,
        }),
    }
}

/// Checks the BTF header at `pos` and returns the blob's range when it parses.
fn candidate(data: &[u8], pos: usize, le: bool) -> Result<Range<usize>, String> {
    let field = |i: usize| -> Option<u64> {
        let b: [u8; 4] = data
            .get(pos + 8 + 4 * i..pos + 12 + 4 * i)?
            .try_into()
            .ok()?;
        Some(u64::from(if le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        }))
    };
    let (Some(type_off), Some(type_len), Some(str_off), Some(str_len)) =
        (field(0), field(1), field(2), field(3))
    else {
        return Err("header truncated by the end of the image".to_owned());
    };
    let body = (type_off + type_len).max(str_off + str_len);
    if type_len == 0 || str_len == 0 {
        return Err("empty type or string section".to_owned());
    }
    let end = (pos as u64)
        .checked_add(24 + body)
        .filter(|&e| e <= data.len() as u64)
        .ok_or_else(|| {
            format!(
                "sections of {body} bytes run past the end of the {} byte image",
                data.len()
            )
        })? as usize;
    let blob = data.get(pos..end).unwrap_or_default();
    Btf::parse(blob).map_err(|e| e.to_string())?;
    Ok(pos..end)
}

// --- decompression ---

fn decompress(
    payload: &[u8],
    compression: Compression,
    within: &str,
) -> Result<Vec<u8>, ExtractError> {
    let fail = |problem: String| ExtractError::Decompress {
        within: within.to_owned(),
        compression,
        problem,
    };
    // Kernel builds append the decompressed size (32 bits, little-endian) to every payload;
    // for gzip it is the format's own ISIZE. It is only a capacity hint here.
    let hint = payload
        .len()
        .checked_sub(4)
        .and_then(|at| u32_le(payload, at))
        .map_or(0, |n| n as usize)
        .min(MAX_DECOMPRESSED)
        .min(payload.len().saturating_mul(64));
    let mut out = Vec::with_capacity(hint);
    match compression {
        Compression::Gzip => {
            let mut dec = flate2::read::GzDecoder::new(payload);
            read_bounded(&mut dec, &mut out).map_err(|e| fail(e.to_string()))?;
        }
        Compression::Zstd => {
            let mut input = payload;
            let mut dec = ruzstd::decoding::StreamingDecoder::new(&mut input)
                .map_err(|e| fail(e.to_string()))?;
            read_bounded(&mut dec, &mut out).map_err(|e| fail(e.to_string()))?;
        }
        Compression::Xz | Compression::Lzma => {
            let stream = if compression == Compression::Xz {
                liblzma::stream::Stream::new_stream_decoder(u64::MAX, 0)
            } else {
                liblzma::stream::Stream::new_lzma_decoder(u64::MAX)
            }
            .map_err(|e| fail(e.to_string()))?;
            xz_decode(stream, payload, &mut out).map_err(fail)?;
        }
        Compression::Lz4 => lz4_legacy(payload, &mut out).map_err(fail)?,
        Compression::Bzip2 | Compression::Lzo => {
            return Err(ExtractError::UnsupportedCompression {
                within: within.to_owned(),
                compression,
            })
        }
    }
    if out.len() > MAX_DECOMPRESSED {
        return Err(ExtractError::TooLarge {
            within: within.to_owned(),
            limit: MAX_DECOMPRESSED,
        });
    }
    Ok(out)
}

/// Reads `r` to its end into `out`, stopping with an error past [`MAX_DECOMPRESSED`].
fn read_bounded(r: &mut impl Read, out: &mut Vec<u8>) -> std::io::Result<()> {
    r.take(MAX_DECOMPRESSED as u64 + 1).read_to_end(out)?;
    Ok(())
}

/// Decodes one xz or lzma stream; data after its end (the kernel's size word) is ignored.
fn xz_decode(
    mut stream: liblzma::stream::Stream,
    mut input: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), String> {
    use liblzma::stream::{Action, Status};
    loop {
        if out.len() == out.capacity() {
            if out.len() > MAX_DECOMPRESSED {
                return Ok(());
            }
            out.reserve(out.len().max(1 << 20));
        }
        let before_in = stream.total_in();
        let before_out = stream.total_out();
        let status = stream
            .process_vec(input, out, Action::Finish)
            .map_err(|e| e.to_string())?;
        let used = (stream.total_in() - before_in) as usize;
        input = input.get(used..).unwrap_or_default();
        match status {
            Status::StreamEnd => return Ok(()),
            _ if used == 0 && stream.total_out() == before_out && out.len() < out.capacity() => {
                return Err("unexpected end of input".to_owned())
            }
            _ => {}
        }
    }
}

/// Decodes the lz4 legacy frame format the kernel uses: a magic word, then blocks each led by
/// its compressed length, each decompressing to at most 8 MiB.
fn lz4_legacy(payload: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
    const BLOCK_MAX: usize = 8 << 20;
    const MAGIC: u32 = 0x184c_2102;
    let mut pos = 4;
    while pos < payload.len() {
        // Exactly four bytes left: the kernel's appended size word, not a block.
        if payload.len() - pos == 4 && pos > 4 {
            break;
        }
        let Some(len) = u32_le(payload, pos) else {
            return Err(format!("truncated block length at offset {pos}"));
        };
        pos += 4;
        if len == MAGIC {
            continue;
        }
        let block = payload
            .get(pos..pos.saturating_add(len as usize))
            .ok_or_else(|| {
                format!(
                    "block at offset {pos} of {len} bytes runs past the end of the {} byte payload",
                    payload.len()
                )
            })?;
        pos += len as usize;
        let start = out.len();
        if start > MAX_DECOMPRESSED {
            return Ok(());
        }
        out.resize(start + BLOCK_MAX, 0);
        let n = lz4_flex::block::decompress_into(block, &mut out[start..])
            .map_err(|e| format!("block at offset {}: {e}", pos - len as usize))?;
        out.truncate(start + n);
    }
    Ok(())
}
