//! Reference interpreter with the Linux kernel's semantics: out-of-bounds packet loads and
//! division by a zero X end the program returning 0.

use super::{AluOp, Error, Insn, Op, RetVal, Src, SKF_AD_OFF};

/// The packet and the metadata ancillary loads read.
#[derive(Clone, Copy, Debug, Default)]
pub struct RunContext<'a> {
    /// Captured bytes.
    pub packet: &'a [u8],
    /// `len` (`ld #pktlen`); the packet's length when `None`.
    pub wire_len: Option<u32>,
    /// skb->protocol (ancillary `proto`), host order.
    pub protocol: u16,
    /// Offloaded VLAN tag: `Some(tci)` makes `vlanp` 1 and `vlan_tci` the tag.
    pub vlan_tci: Option<u16>,
    /// skb->mark.
    pub mark: u32,
    /// Packet type (ancillary `type`).
    pub pkt_type: u32,
    pub ifindex: u32,
}

impl<'a> RunContext<'a> {
    pub fn new(packet: &'a [u8]) -> Self {
        RunContext {
            packet,
            ..RunContext::default()
        }
    }

    fn load(&self, off: u64, bytes: u32) -> Option<u32> {
        let start = usize::try_from(off).ok()?;
        let end = start.checked_add(bytes as usize)?;
        let b = self.packet.get(start..end)?;
        Some(b.iter().fold(0u32, |acc, &x| (acc << 8) | u32::from(x)))
    }

    fn ancillary(&self, k: u32, x: u32, a: u32) -> Option<u32> {
        Some(match k.checked_sub(SKF_AD_OFF)? {
            0 => u32::from(self.protocol),
            4 => self.pkt_type,
            8 => self.ifindex,
            20 => self.mark,
            40 => a ^ x,
            44 => u32::from(self.vlan_tci.unwrap_or(0)),
            48 => u32::from(self.vlan_tci.is_some()),
            _ => 0,
        })
    }
}

/// Run a validated program; the return value is the number of bytes to accept (0 = drop).
/// Programs that fail [`super::validate`] give that error.
pub fn run(insns: &[Insn], ctx: &RunContext<'_>) -> Result<u32, Error> {
    super::validate(insns)?;
    let len = ctx.wire_len.unwrap_or(ctx.packet.len() as u32);
    let (mut a, mut x) = (0u32, 0u32);
    let mut mem = [0u32; 16];
    let mut pc = 0usize;
    // Validation guarantees forward jumps inside the program and a final return.
    while let Some(insn) = insns.get(pc) {
        let Some(op) = insn.op() else {
            return Ok(0);
        };
        pc += 1;
        match op {
            Op::LdAbs { size, k } => {
                let v = if k >= SKF_AD_OFF {
                    ctx.ancillary(k, x, a)
                } else {
                    ctx.load(u64::from(k), size.bytes())
                };
                match v {
                    Some(v) => a = v,
                    None => return Ok(0),
                }
            }
            Op::LdInd { size, k } => match ctx.load(u64::from(x) + u64::from(k), size.bytes()) {
                Some(v) => a = v,
                None => return Ok(0),
            },
            Op::LdLen => a = len,
            Op::LdxLen => x = len,
            Op::LdImm(k) => a = k,
            Op::LdxImm(k) => x = k,
            Op::LdMem(k) => a = mem.get(k as usize).copied().unwrap_or(0),
            Op::LdxMem(k) => x = mem.get(k as usize).copied().unwrap_or(0),
            Op::LdxMsh(k) => match ctx.load(u64::from(k), 1) {
                Some(v) => x = 4 * (v & 0xf),
                None => return Ok(0),
            },
            Op::St(k) => {
                if let Some(m) = mem.get_mut(k as usize) {
                    *m = a;
                }
            }
            Op::Stx(k) => {
                if let Some(m) = mem.get_mut(k as usize) {
                    *m = x;
                }
            }
            Op::Alu { op, src } => {
                let b = match src {
                    Src::K(k) => k,
                    Src::X => x,
                };
                match op.apply(a, b) {
                    Some(v) => a = v,
                    None => return Ok(0),
                }
                if matches!(op, AluOp::Lsh | AluOp::Rsh) && b >= 32 {
                    a = 0;
                }
            }
            Op::Neg => a = a.wrapping_neg(),
            Op::Ja(k) => pc += k as usize,
            Op::Jmp { op, src, jt, jf } => {
                let b = match src {
                    Src::K(k) => k,
                    Src::X => x,
                };
                pc += usize::from(if op.test(a, b) { jt } else { jf });
            }
            Op::Ret(RetVal::K(k)) => return Ok(k),
            Op::Ret(RetVal::A) => return Ok(a),
            Op::Tax => x = a,
            Op::Txa => a = x,
        }
    }
    Ok(0)
}
