//! Parsing of the kernel verifier's instruction syntax: the text [`Insn`]'s `Display` prints,
//! and the lines of verifier logs and `bpftool prog dump xlated` listings.

use core::str::FromStr;

use super::insn::{
    AluOp, AtomicOp, Call, Insn, JmpOp, LdImm64Kind, MemSize, Reg, Source, SwapOp, SwapSize, Width,
};

/// Text that is not an instruction in the kernel's syntax.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("cannot parse `{text}` at column {column}: expected {expected}")]
pub struct ParseError {
    /// The text given.
    pub text: String,
    /// 0-based byte column where parsing stopped.
    pub column: usize,
    /// What was expected there.
    pub expected: &'static str,
}

/// Parses one instruction in the kernel verifier's syntax (`r1 = *(u64 *)(r10 -8)`,
/// `if w1 s< 0x5 goto pc+3`, `call bpf_map_lookup_elem#1` …). A leading listing prefix
/// `N: (xx) ` and trailing register state after ` ;` are skipped. Helper names are not
/// checked: `call <anything>#N` is helper N.
///
/// The text does not carry every field: a kfunc call's `off`, and the second `imm` of
/// 64-bit immediate loads other than constants and map values, parse as 0.
pub fn parse_insn(text: &str) -> Result<Insn, ParseError> {
    let mut body = text.trim();
    // `12: (bf) ` prefix.
    if let Some((idx, rest)) = body.split_once(": (") {
        if !idx.is_empty() && idx.trim().bytes().all(|b| b.is_ascii_digit()) {
            if let Some((_, after)) = rest.split_once(") ") {
                body = after;
            }
        }
    }
    if let Some(p) = body.find(" ;") {
        body = &body[..p];
    }
    let body = body.trim();
    let mut p = Parser {
        text,
        s: body,
        // `body` is a sub-slice of `text`: its distance from the start is the column base.
        base: (body.as_ptr() as usize).saturating_sub(text.as_ptr() as usize),
        pos: 0,
    };
    let insn = p.insn()?;
    p.ws();
    if p.pos != p.s.len() {
        return Err(p.err("end of instruction"));
    }
    Ok(insn)
}

impl FromStr for Insn {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Insn, ParseError> {
        parse_insn(s)
    }
}

struct Parser<'a> {
    text: &'a str,
    s: &'a str,
    base: usize,
    pos: usize,
}

impl Parser<'_> {
    fn err(&self, expected: &'static str) -> ParseError {
        ParseError {
            text: self.text.to_owned(),
            column: self.base + self.pos,
            expected,
        }
    }

    fn rest(&self) -> &str {
        self.s.get(self.pos..).unwrap_or("")
    }

    fn ws(&mut self) {
        let r = self.rest();
        self.pos += r.len() - r.trim_start().len();
    }

    /// Consumes `lit` (after optional blanks) if it is next.
    fn eat(&mut self, lit: &str) -> bool {
        self.ws();
        if self.rest().starts_with(lit) {
            self.pos += lit.len();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, lit: &'static str) -> Result<(), ParseError> {
        if self.eat(lit) {
            Ok(())
        } else {
            Err(self.err(lit))
        }
    }

    /// A register `rN` or `wN`.
    fn reg_w(&mut self) -> Result<(Width, Reg), ParseError> {
        self.ws();
        let r = self.rest();
        let width = match r.as_bytes().first() {
            Some(b'r') => Width::W64,
            Some(b'w') => Width::W32,
            _ => return Err(self.err("a register")),
        };
        let digits = r[1..].bytes().take_while(u8::is_ascii_digit).count();
        let n = r
            .get(1..1 + digits)
            .filter(|d| !d.is_empty() && d.len() <= 2)
            .and_then(|d| d.parse::<u8>().ok())
            .and_then(Reg::new)
            .ok_or_else(|| self.err("a register r0-r10"))?;
        self.pos += 1 + digits;
        Ok((width, n))
    }

    fn reg64(&mut self) -> Result<Reg, ParseError> {
        match self.reg_w()? {
            (Width::W64, r) => Ok(r),
            _ => Err(self.err("a 64-bit register")),
        }
    }

    fn reg_of(&mut self, width: Width) -> Result<Reg, ParseError> {
        match self.reg_w()? {
            (w, r) if w == width => Ok(r),
            _ => Err(self.err("a register of the same width")),
        }
    }

    fn at_reg(&self) -> bool {
        let b = self.rest().trim_start().as_bytes();
        matches!(b.first(), Some(b'r' | b'w')) && b.get(1).is_some_and(u8::is_ascii_digit)
    }

    /// An integer: optional sign, decimal or `0x` hexadecimal.
    fn int(&mut self) -> Result<i128, ParseError> {
        self.ws();
        let r = self.rest();
        let (neg, body, sign_len) = match r.as_bytes().first() {
            Some(b'-') => (true, &r[1..], 1),
            Some(b'+') => (false, &r[1..], 1),
            _ => (false, r, 0),
        };
        let (radix, digits_at) = if body.starts_with("0x") {
            (16, 2)
        } else {
            (10, 0)
        };
        let digits: &str = body
            .get(digits_at..)
            .map(|d| {
                let n = d
                    .bytes()
                    .take_while(|b| (*b as char).is_digit(radix))
                    .count();
                &d[..n]
            })
            .unwrap_or("");
        if digits.is_empty() || digits.len() > 20 {
            return Err(self.err("a number"));
        }
        let v = i128::from_str_radix(digits, radix).map_err(|_| self.err("a number"))?;
        self.pos += sign_len + digits_at + digits.len();
        Ok(if neg { -v } else { v })
    }

    fn int_in<T: TryFrom<i128>>(&mut self, what: &'static str) -> Result<T, ParseError> {
        let v = self.int()?;
        T::try_from(v).map_err(|_| self.err(what))
    }

    /// `pc+N` / `pc-N`.
    fn pc_rel(&mut self) -> Result<i128, ParseError> {
        self.expect("pc")?;
        let r = self.rest();
        if !r.starts_with('+') && !r.starts_with('-') {
            return Err(self.err("a signed offset"));
        }
        self.int()
    }

    /// `(u8 *)` … `(s64 *)`: size and signedness.
    fn ptr_type(&mut self) -> Result<(MemSize, bool), ParseError> {
        self.expect("(")?;
        self.ws();
        let r = self.rest();
        let (signed, rest) = match r.as_bytes().first() {
            Some(b'u') => (false, &r[1..]),
            Some(b's') => (true, &r[1..]),
            _ => return Err(self.err("u8/u16/u32/u64 or s8/s16/s32")),
        };
        let (size, n) = if rest.starts_with("8") {
            (MemSize::B, 1)
        } else if rest.starts_with("16") {
            (MemSize::H, 2)
        } else if rest.starts_with("32") {
            (MemSize::W, 2)
        } else if rest.starts_with("64") {
            (MemSize::DW, 2)
        } else {
            return Err(self.err("a type width"));
        };
        self.pos += 1 + n;
        self.expect("*")?;
        self.expect(")")?;
        Ok((size, signed))
    }

    /// `(rN +off)`.
    fn mem(&mut self) -> Result<(Reg, i16), ParseError> {
        self.expect("(")?;
        let r = self.reg64()?;
        let off = self.int_in("a 16-bit offset")?;
        self.expect(")")?;
        Ok((r, off))
    }

    fn insn(&mut self) -> Result<Insn, ParseError> {
        if self.eat("exit") {
            return Ok(Insn::Exit);
        }
        if self.eat("nospec") {
            return Ok(Insn::Nospec);
        }
        if self.eat("gotol ") {
            return Ok(Insn::Gotol {
                off: self.rel_in("a 32-bit offset")?,
            });
        }
        if self.eat("goto ") {
            return Ok(Insn::Ja {
                off: self.rel_in("a 16-bit offset")?,
            });
        }
        if self.eat("may_goto ") {
            return Ok(Insn::MayGoto {
                off: self.rel_in("a 16-bit offset")?,
            });
        }
        if self.eat("callx ") {
            return Ok(Insn::Call(Call::Reg(self.reg64()?)));
        }
        if self.eat("call ") {
            return self.call();
        }
        if self.eat("if ") {
            return self.jmp();
        }
        if self.eat("lock ") {
            return self.lock();
        }
        if self.eat("store_release(") {
            let (size, signed) = self.ptr_type()?;
            if signed {
                return Err(self.err("an unsigned type"));
            }
            let (dst, off) = self.mem()?;
            self.expect(",")?;
            let src = self.reg64()?;
            self.expect(")")?;
            return Ok(Insn::Atomic {
                size,
                op: AtomicOp::StoreRelease,
                dst,
                src,
                off,
            });
        }
        if self.eat("*") {
            let (size, signed) = self.ptr_type()?;
            if signed {
                return Err(self.err("an unsigned type"));
            }
            let (dst, off) = self.mem()?;
            self.expect("=")?;
            let src = if self.at_reg() {
                Source::Reg(self.reg64()?)
            } else {
                Source::Imm(self.int_in("a 32-bit immediate")?)
            };
            return Ok(Insn::Store {
                size,
                dst,
                off,
                src,
            });
        }
        let (width, dst) = self.reg_w()?;
        self.ws();
        for (sym, op) in ALU_SYMBOLS {
            if self.eat(sym) {
                let src = if self.at_reg() {
                    Source::Reg(self.reg_of(width)?)
                } else {
                    Source::Imm(self.int_in("a 32-bit immediate")?)
                };
                return Ok(Insn::Alu {
                    width,
                    op,
                    dst,
                    src,
                });
            }
        }
        self.expect("=")?;
        self.assign(width, dst)
    }

    fn rel_in<T: TryFrom<i128>>(&mut self, what: &'static str) -> Result<T, ParseError> {
        let v = self.pc_rel()?;
        T::try_from(v).map_err(|_| self.err(what))
    }

    fn call(&mut self) -> Result<Insn, ParseError> {
        self.ws();
        if self.rest().starts_with("pc") {
            return Ok(Insn::Call(Call::Local(self.rel_in("a 32-bit offset")?)));
        }
        let name_len = self.rest().find('#').ok_or_else(|| self.err("`name#id`"))?;
        let kfunc = &self.rest()[..name_len] == "kernel-function";
        self.pos += name_len + 1;
        let id = self.int_in("a 32-bit id")?;
        Ok(Insn::Call(if kfunc {
            Call::Kfunc { btf_id: id, off: 0 }
        } else {
            Call::Helper(id)
        }))
    }

    fn jmp(&mut self) -> Result<Insn, ParseError> {
        let (width, dst) = self.reg_w()?;
        self.ws();
        let op = JMP_SYMBOLS
            .iter()
            .find(|(sym, _)| {
                self.rest().starts_with(sym) && self.rest()[sym.len()..].starts_with(' ')
            })
            .map(|&(sym, op)| (sym, op))
            .ok_or_else(|| self.err("a comparison"))?;
        self.pos += op.0.len();
        let src = if self.at_reg() {
            Source::Reg(self.reg_of(width)?)
        } else {
            let v: u32 = self.int_in("a 32-bit immediate")?;
            Source::Imm(v as i32)
        };
        self.expect("goto")?;
        let off = self.rel_in("a 16-bit offset")?;
        Ok(Insn::Jmp {
            width,
            op: op.1,
            dst,
            src,
            off,
        })
    }

    fn lock(&mut self) -> Result<Insn, ParseError> {
        self.expect("*")?;
        let (size, signed) = self.ptr_type()?;
        if signed {
            return Err(self.err("an unsigned type"));
        }
        let (dst, off) = self.mem()?;
        self.ws();
        let op = [
            ("+=", AtomicOp::Add),
            ("|=", AtomicOp::Or),
            ("&=", AtomicOp::And),
            ("^=", AtomicOp::Xor),
        ]
        .into_iter()
        .find(|(sym, _)| self.rest().starts_with(sym))
        .ok_or_else(|| self.err("+=, |=, &= or ^="))?;
        self.pos += 2;
        let src = self.reg64()?;
        Ok(Insn::Atomic {
            size,
            op: op.1,
            dst,
            src,
            off,
        })
    }

    /// The right-hand side of `dst = …`.
    fn assign(&mut self, width: Width, dst: Reg) -> Result<Insn, ParseError> {
        self.ws();
        let w64 = |p: &Self| {
            if width == Width::W64 {
                Ok(())
            } else {
                Err(p.err("a 64-bit destination"))
            }
        };
        if self.rest().starts_with("-r") || self.rest().starts_with("-w") {
            self.pos += 1;
            let r = self.reg_of(width)?;
            if r != dst {
                return Err(self.err("the destination register"));
            }
            return Ok(Insn::Neg { width, dst });
        }
        if self.rest().starts_with("(s") {
            self.pos += 2;
            let from = if self.eat("8)") {
                MemSize::B
            } else if self.eat("16)") {
                MemSize::H
            } else if self.eat("32)") {
                MemSize::W
            } else {
                return Err(self.err("(s8), (s16) or (s32)"));
            };
            let src = self.reg_of(width)?;
            return Ok(Insn::MovSx {
                width,
                dst,
                src,
                from,
            });
        }
        for (name, op) in [
            ("le", SwapOp::ToLe),
            ("be", SwapOp::ToBe),
            ("bswap", SwapOp::Swap),
        ] {
            let r = self.rest();
            let Some(bits) = r.strip_prefix(name) else {
                continue;
            };
            let size = if bits.starts_with("16 ") {
                SwapSize::S16
            } else if bits.starts_with("32 ") {
                SwapSize::S32
            } else if bits.starts_with("64 ") {
                SwapSize::S64
            } else {
                continue;
            };
            w64(self)?;
            self.pos += name.len() + 2;
            if self.reg64()? != dst {
                return Err(self.err("the destination register"));
            }
            return Ok(Insn::Swap { op, size, dst });
        }
        if self.eat("addr_space_cast(") {
            w64(self)?;
            let src = self.reg64()?;
            self.expect(",")?;
            let dst_as = self.int_in("an address space")?;
            self.expect(",")?;
            let src_as = self.int_in("an address space")?;
            self.expect(")")?;
            return Ok(Insn::AddrSpaceCast {
                dst,
                src,
                dst_as,
                src_as,
            });
        }
        if self.eat("&(void __percpu *)(") {
            w64(self)?;
            let src = self.reg64()?;
            self.expect(")")?;
            return Ok(Insn::MovPercpuAddr { dst, src });
        }
        if self.eat("load_acquire(") {
            w64(self)?;
            let (size, signed) = self.ptr_type()?;
            if signed {
                return Err(self.err("an unsigned type"));
            }
            let (src, off) = self.mem()?;
            self.expect(")")?;
            return Ok(Insn::Atomic {
                size,
                op: AtomicOp::LoadAcquire,
                dst,
                src,
                off,
            });
        }
        if self.rest().starts_with("atomic") {
            w64(self)?;
            return self.fetch_atomic(dst);
        }
        if self.eat("*") {
            w64(self)?;
            let (size, signed) = self.ptr_type()?;
            if self.eat("skb[") {
                if dst != Reg::R0 || signed {
                    return Err(self.err("r0 = *(uN *)skb[...]"));
                }
                let insn = if self.at_reg() {
                    let src = self.reg64()?;
                    self.expect("+")?;
                    let imm = self.int_in("a 32-bit immediate")?;
                    Insn::LdInd { size, src, imm }
                } else {
                    Insn::LdAbs {
                        size,
                        imm: self.int_in("a 32-bit immediate")?,
                    }
                };
                self.expect("]")?;
                return Ok(insn);
            }
            let (src, off) = self.mem()?;
            return Ok(Insn::Load {
                size,
                signed,
                dst,
                src,
                off,
            });
        }
        if self.eat("map[id:") {
            w64(self)?;
            let imm = self.int_in::<u32>("a map id")? as i32;
            self.expect("]")?;
            if self.eat("[0]+") {
                let next = self.int_in::<u32>("an offset")? as i32;
                return Ok(ld(dst, LdImm64Kind::MapValue, imm, next));
            }
            return Ok(ld(dst, LdImm64Kind::MapFd, imm, 0));
        }
        if self.eat("map[idx:") {
            w64(self)?;
            let imm = self.int_in::<u32>("a map index")? as i32;
            self.expect("]")?;
            if self.eat("+") {
                let next = self.int_in::<u32>("an offset")? as i32;
                return Ok(ld(dst, LdImm64Kind::MapIdxValue, imm, next));
            }
            return Ok(ld(dst, LdImm64Kind::MapIdx, imm, 0));
        }
        if self.eat("btf_id[") {
            w64(self)?;
            let imm = self.int_in::<u32>("a BTF id")? as i32;
            self.expect("]")?;
            return Ok(ld(dst, LdImm64Kind::BtfId, imm, 0));
        }
        if self.eat("subprog[") {
            w64(self)?;
            let imm = self.int_in("a 32-bit offset")?;
            self.expect("]")?;
            return Ok(ld(dst, LdImm64Kind::Func, imm, 0));
        }
        if self.rest().starts_with("0x") {
            w64(self)?;
            let v: u64 = self.int_in("a 64-bit constant")?;
            return Ok(Insn::ld_imm64_value(dst, v));
        }
        let src = if self.at_reg() {
            Source::Reg(self.reg_of(width)?)
        } else {
            Source::Imm(self.int_in("a 32-bit immediate")?)
        };
        Ok(Insn::Alu {
            width,
            op: AluOp::Mov,
            dst,
            src,
        })
    }

    /// `atomic[64]_fetch_op(...)`, `atomic[64]_xchg(...)`, `atomic[64]_cmpxchg(...)`.
    fn fetch_atomic(&mut self, lhs: Reg) -> Result<Insn, ParseError> {
        let is64 = self.eat("atomic64_") || {
            self.expect("atomic_")?;
            false
        };
        let op = if self.eat("fetch_add(") {
            AtomicOp::FetchAdd
        } else if self.eat("fetch_or(") {
            AtomicOp::FetchOr
        } else if self.eat("fetch_and(") {
            AtomicOp::FetchAnd
        } else if self.eat("fetch_xor(") {
            AtomicOp::FetchXor
        } else if self.eat("xchg(") {
            AtomicOp::Xchg
        } else if self.eat("cmpxchg(") {
            AtomicOp::CmpXchg
        } else {
            return Err(self.err("fetch_add/or/and/xor, xchg or cmpxchg"));
        };
        let (size, signed) = self.ptr_type()?;
        if signed || (size == MemSize::DW) != is64 {
            return Err(self.err("(u64 *) with atomic64, (u32 *) with atomic"));
        }
        let (dst, off) = self.mem()?;
        self.expect(",")?;
        if op == AtomicOp::CmpXchg {
            if lhs != Reg::R0 || self.reg64()? != Reg::R0 {
                return Err(self.err("r0 = …cmpxchg(…, r0, rN)"));
            }
            self.expect(",")?;
        }
        let src = self.reg64()?;
        self.expect(")")?;
        if op != AtomicOp::CmpXchg && src != lhs {
            return Err(self.err("the same register on both sides"));
        }
        Ok(Insn::Atomic {
            size,
            op,
            dst,
            src,
            off,
        })
    }
}

fn ld(dst: Reg, kind: LdImm64Kind, imm: i32, next_imm: i32) -> Insn {
    Insn::LdImm64 {
        dst,
        kind,
        imm,
        next_imm,
    }
}

/// Compound-assignment operators, longest first so that `s>>=` wins over `>>=`.
const ALU_SYMBOLS: [(&str, AluOp); 13] = [
    ("s>>=", AluOp::Arsh),
    ("<<=", AluOp::Lsh),
    (">>=", AluOp::Rsh),
    ("s/=", AluOp::SDiv),
    ("s%=", AluOp::SMod),
    ("+=", AluOp::Add),
    ("-=", AluOp::Sub),
    ("*=", AluOp::Mul),
    ("/=", AluOp::Div),
    ("|=", AluOp::Or),
    ("&=", AluOp::And),
    ("%=", AluOp::Mod),
    ("^=", AluOp::Xor),
];

/// Comparisons, longest first.
const JMP_SYMBOLS: [(&str, JmpOp); 11] = [
    ("s>=", JmpOp::Sge),
    ("s<=", JmpOp::Sle),
    ("s>", JmpOp::Sgt),
    ("s<", JmpOp::Slt),
    ("==", JmpOp::Eq),
    ("!=", JmpOp::Ne),
    (">=", JmpOp::Ge),
    ("<=", JmpOp::Le),
    (">", JmpOp::Gt),
    ("<", JmpOp::Lt),
    ("&", JmpOp::Set),
];
