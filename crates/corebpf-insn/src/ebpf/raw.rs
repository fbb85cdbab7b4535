//! The raw 8-byte instruction slot.

/// Byte order of an instruction stream.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Endian {
    /// Little endian (`bpfel`, x86, arm64 …): `dst` is the low nibble of byte 1.
    #[default]
    Little,
    /// Big endian (`bpfeb`, s390x …): `dst` is the high nibble of byte 1.
    Big,
}

impl Endian {
    /// The byte order of the machine this code runs on.
    pub const NATIVE: Endian = if cfg!(target_endian = "big") {
        Endian::Big
    } else {
        Endian::Little
    };
}

/// One 8-byte instruction slot, fields as encoded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct RawInsn {
    /// Opcode byte.
    pub code: u8,
    /// Destination register field (4 bits; higher bits are dropped on encode).
    pub dst: u8,
    /// Source register field (4 bits; higher bits are dropped on encode).
    pub src: u8,
    /// Signed 16-bit offset.
    pub off: i16,
    /// Signed 32-bit immediate.
    pub imm: i32,
}

impl RawInsn {
    /// Size of a slot in bytes.
    pub const SIZE: usize = 8;

    /// Reads a slot from its 8 bytes.
    #[inline]
    pub fn from_bytes(b: [u8; 8], endian: Endian) -> RawInsn {
        match endian {
            Endian::Little => RawInsn {
                code: b[0],
                dst: b[1] & 0x0f,
                src: b[1] >> 4,
                off: i16::from_le_bytes([b[2], b[3]]),
                imm: i32::from_le_bytes([b[4], b[5], b[6], b[7]]),
            },
            Endian::Big => RawInsn {
                code: b[0],
                dst: b[1] >> 4,
                src: b[1] & 0x0f,
                off: i16::from_be_bytes([b[2], b[3]]),
                imm: i32::from_be_bytes([b[4], b[5], b[6], b[7]]),
            },
        }
    }

    /// Reads the slot at the start of `bytes`, or `None` when fewer than 8 bytes remain.
    #[inline]
    pub fn read(bytes: &[u8], endian: Endian) -> Option<RawInsn> {
        let head: [u8; 8] = bytes.get(..8)?.try_into().ok()?;
        Some(RawInsn::from_bytes(head, endian))
    }

    /// Writes the slot as 8 bytes.
    #[inline]
    pub fn to_bytes(self, endian: Endian) -> [u8; 8] {
        let (regs, off, imm) = match endian {
            Endian::Little => (
                (self.dst & 0x0f) | (self.src << 4),
                self.off.to_le_bytes(),
                self.imm.to_le_bytes(),
            ),
            Endian::Big => (
                (self.dst << 4) | (self.src & 0x0f),
                self.off.to_be_bytes(),
                self.imm.to_be_bytes(),
            ),
        };
        [
            self.code, regs, off[0], off[1], imm[0], imm[1], imm[2], imm[3],
        ]
    }
}
