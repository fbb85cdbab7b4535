//! C header output: turns BTF into compilable C declarations (a `vmlinux.h`).
//!
//! [`dump_c`] writes every type of a [`Btf`] (or only the ones named in
//! [`COptions::only`] and what they depend on) as C that `clang -target bpf` compiles, with the
//! same sizes and member offsets as the BTF describes:
//!
//! * Types are emitted in dependency order: a struct, union, enum or typedef is defined before any
//!   type embeds it by value. A type reached only through a pointer gets a forward declaration
//!   (`struct foo;`) when it is not defined yet, which also breaks pointer cycles.
//! * Anonymous structs, unions and enums are written inline where they are used; anonymous enums
//!   nothing refers to (used for constants) are written at the top level. An unnamed member of
//!   a *named* struct type (legal only with `-fms-extensions`) is written as an anonymous struct
//!   with the same body.
//! * Member offsets are reproduced exactly. A gap before a member that a larger alignment
//!   explains (what `____cacheline_aligned` leaves) becomes `__attribute__((aligned(N)))` on the
//!   member, with the smallest such N, so the struct is never more aligned than the original;
//!   other gaps are filled with unnamed bitfields (`long: 64;`). Structs whose members are not
//!   naturally aligned (or whose bitfields straddle their type's unit, or whose size is not a
//!   multiple of their alignment) get `__attribute__((packed))`, and unions bigger than their
//!   largest member get `__attribute__((aligned(N)))` or an anonymous struct of padding.
//! * Enums whose size is not 4 bytes get a `mode` attribute (`byte`, `HI`, `word`).
//! * Two different types with the same name (or typedefs/enumerators sharing an identifier) are
//!   told apart by appending `___2`, `___3`, ... to the later ones, as bpftool does;
//!   [`dump_c_with_renames`] reports which types were renamed.
//! * FUNC, VAR, DATASEC and DECL_TAG records have no C type declaration and are skipped.
//!   TYPE_TAG becomes `__btf_type_tag("...")`, a macro the header defines as
//!   `__attribute__((btf_type_tag("...")))` where clang supports it (and as nothing elsewhere or
//!   with `BPF_NO_TYPE_TAGS` defined); a tag with kind_flag set is written as the plain
//!   attribute it names.
//! * `__builtin_va_list` is the compiler's own type: it is not redefined, and uses of it are
//!   written as the type the BTF records, which keeps the layout of structs holding a `va_list`.
//!
//! The header has a `__VMLINUX_H__` include guard and, unless disabled in [`COptions`], wraps
//! everything in `#pragma clang attribute push (__attribute__((preserve_access_index)), ...)` so
//! that every struct access in a BPF program becomes a CO-RE relocation (define
//! `BPF_NO_PRESERVE_ACCESS_INDEX` before including it to opt out).
//!
//! Type graphs C cannot express (a struct containing itself by value, an anonymous struct
//! pointing to itself, reference loops, nesting deeper than any real kernel's) are reported as
//! [`CDumpError::Type`], never a crash.
//!
//! ```no_run
//! let data = std::fs::read("/sys/kernel/btf/vmlinux").unwrap();
//! std::fs::write("vmlinux.h", corebpf_btf::c_dump::vmlinux_header(&data).unwrap()).unwrap();
//! ```

use std::collections::HashMap;
use std::fmt::Write as _;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{self, Write};

use crate::types::u32_at;
use crate::{Btf, BtfError, Endian, Kind, Member, Type, TypeId, TypeKind};

/// Deepest type nesting (embedded records, typedef and modifier chains, nested declarators)
/// the dumper follows before it rejects the input as malformed. Kernels need less than 16; the
/// bound keeps the recursion's stack use small and turns reference loops into errors.
const MAX_DEPTH: u32 = 64;

/// Padding is written as unnamed bitfields, one line per 64 bits: a struct declaring more
/// than this much of it (no real one does) is refused rather than written as millions of lines.
const MAX_PADDING_BITS: u64 = 8 << 20;

fn check_padding(id: TypeId, from: u64, to: u64) -> Result<(), CDumpError> {
    if to.saturating_sub(from) > MAX_PADDING_BITS {
        return Err(CDumpError::Type {
            id,
            problem: "more than 1 MiB of padding to write (member offsets or size out of range)",
        });
    }
    Ok(())
}

/// Output is handed to the writer in chunks of about this size.
const FLUSH_AT: usize = 1 << 16;

/// The compiler's own type, which a header must not define.
const BUILTIN_VA_LIST: &str = "__builtin_va_list";

/// Name of the guard macro type tags are written with.
const TYPE_TAG_MACRO: &str = "__btf_type_tag";

/// What [`dump_c`] writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct COptions {
    /// Wrap the declarations in the `preserve_access_index` pragma (CO-RE for every struct).
    pub preserve_access_index: bool,
    /// Dump only these types and the types they depend on (in the order given); `None` dumps all.
    pub only: Option<Vec<TypeId>>,
}

impl Default for COptions {
    fn default() -> Self {
        COptions {
            preserve_access_index: true,
            only: None,
        }
    }
}

/// Why a C dump failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CDumpError {
    /// The BTF itself is malformed.
    #[error(transparent)]
    Btf(#[from] BtfError),
    /// The output writer failed.
    #[error("writing C output: {0}")]
    Io(#[from] io::Error),
    /// A type cannot be expressed in C (or the type graph is malformed).
    #[error("type [{id}]: {problem}")]
    Type { id: TypeId, problem: &'static str },
    /// A type id asked for in [`COptions::only`] does not exist.
    #[error("type id {id} out of range (only {len} types)")]
    IdOutOfRange { id: TypeId, len: u32 },
}

/// Writes `btf` as a C header to `out`.
pub fn dump_c<W: Write + ?Sized>(
    btf: &Btf<'_>,
    out: &mut W,
    opts: &COptions,
) -> Result<(), CDumpError> {
    dump_c_with_renames(btf, out, opts).map(|_| ())
}

/// Like [`dump_c`], and returns the types written under a changed name because another type
/// already used theirs (`foo` written as `foo___2`): `(id, C name)` in id order. Code generated
/// to go with the header must use these names.
pub fn dump_c_with_renames<W: Write + ?Sized>(
    btf: &Btf<'_>,
    out: &mut W,
    opts: &COptions,
) -> Result<Vec<(TypeId, String)>, CDumpError> {
    let mut d = Dumper::new(btf, out)?;
    d.header(opts)?;
    match &opts.only {
        Some(ids) => {
            for &id in ids {
                if id >= btf.len() {
                    return Err(CDumpError::IdOutOfRange { id, len: btf.len() });
                }
                d.dump_type(id)?;
            }
        }
        None => {
            for id in 1..d.len {
                d.dump_type(id)?;
            }
        }
    }
    d.footer(opts)?;
    d.flush()?;
    d.out.flush()?;
    let mut renamed = Vec::new();
    for (id, st) in (0..).zip(d.st.iter()) {
        if st.name_dup > 1 {
            let t = btf.type_by_id(id)?;
            renamed.push((id, format!("{}___{}", t.name, st.name_dup)));
        }
    }
    Ok(renamed)
}

/// Parses `bytes` as (base) BTF and returns the complete C header for it: the function a build
/// script calls to produce `vmlinux.h` from `/sys/kernel/btf/vmlinux`.
pub fn vmlinux_header(bytes: &[u8]) -> Result<String, CDumpError> {
    let btf = Btf::parse(bytes)?;
    header_string(&btf, &COptions::default())
}

/// Returns the C header for `btf` as a string.
pub fn header_string(btf: &Btf<'_>, opts: &COptions) -> Result<String, CDumpError> {
    let mut out = Vec::with_capacity(4 << 20);
    dump_c(btf, &mut out, opts)?;
    // The dumper only writes text that came from `&str`s and ASCII punctuation, so the
    // conversion never replaces anything.
    Ok(String::from_utf8(out)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Order {
    #[default]
    Unseen,
    Visiting,
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Emit {
    #[default]
    Pending,
    InProgress,
    Done,
}

/// Per-type bookkeeping.
#[derive(Debug, Clone, Copy, Default)]
struct State {
    order: Order,
    emit: Emit,
    /// A forward declaration (struct/union) or the typedef itself was already written.
    fwd_emitted: bool,
    /// Some other type refers to this one.
    referenced: bool,
    /// 0: name not chosen yet; 1: the plain name; n > 1: `name___n`.
    name_dup: u32,
}

/// What the hot paths read from a type record without decoding names.
#[derive(Debug, Clone, Copy)]
struct Head<'a> {
    kind: Kind,
    kflag: bool,
    vlen: usize,
    raw: &'a [u8],
    endian: Endian,
    /// Size (sized kinds) or referenced type (PTR, TYPEDEF, modifiers).
    size_or_type: u32,
    /// ARRAY element type.
    elem: u32,
    /// ARRAY element count.
    len: u32,
}

impl Head<'_> {
    /// Type of FUNC_PROTO parameter `i`.
    fn param_type(&self, i: usize) -> u32 {
        u32_at(self.raw, 12 + 8 * i + 4, self.endian)
    }

    /// STRUCT/UNION member `i`: type, bit offset, bitfield size (names are not needed here).
    fn member(&self, i: usize) -> (TypeId, u32, u32) {
        let ty = u32_at(self.raw, 12 + 12 * i + 4, self.endian);
        let off = u32_at(self.raw, 12 + 12 * i + 8, self.endian);
        if self.kflag {
            (ty, off & 0x00ff_ffff, off >> 24)
        } else {
            (ty, off, 0)
        }
    }
}

/// Layout facts of a struct/union, computed once.
#[derive(Debug, Clone, Copy, Default)]
struct Layout {
    known: bool,
    /// Alignment of the type as the emitted C declares it.
    align: u32,
    /// Emitted with `__attribute__((packed))`.
    packed: bool,
    /// Emitted with `__attribute__((aligned(N)))` (unions only), or 0.
    force_align: u32,
    /// Unions only: the union needs an anonymous struct of padding to reach its size.
    union_pad: bool,
    /// Structs only: members the compiler would place too early get
    /// `__attribute__((aligned(N)))` (see [`raised_align`]) instead of explicit padding.
    member_align: bool,
}

/// FNV-1a: names are short and not attacker-chosen hash keys here (a map per dump).
#[derive(Default)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

type NameMap<'a> = HashMap<&'a str, u32, BuildHasherDefault<Fnv>>;

struct Dumper<'b, 'a, W: Write + ?Sized> {
    btf: &'b Btf<'a>,
    out: &'b mut W,
    buf: String,
    st: Vec<State>,
    layout: Vec<Layout>,
    /// Alignment of each type as log2 + 1 (0: not computed yet).
    align: Vec<u8>,
    /// Struct/union/enum tags already used, with how often.
    type_names: NameMap<'a>,
    /// Typedef names and enumerators (one C namespace), with how often.
    ident_names: NameMap<'a>,
    /// Types to define, in order, for the current root type.
    queue: Vec<TypeId>,
    /// Shared stack of declaration chains (see `emit_decl`).
    stack: Vec<TypeId>,
    /// The BTF has TYPE_TAG types (the header then defines the tag macro).
    has_type_tags: bool,
    /// `btf.len()`.
    len: u32,
}

fn type_err(id: TypeId, problem: &'static str) -> CDumpError {
    CDumpError::Type { id, problem }
}

fn too_deep(id: TypeId) -> CDumpError {
    type_err(id, "type nesting too deep (or a reference loop)")
}

fn round_up(v: u64, align: u64) -> u64 {
    if align <= 1 {
        v
    } else {
        v.div_ceil(align).saturating_mul(align)
    }
}

/// The smallest alignment (bytes, a power of two above the member's `natural` one, at most
/// 4096) that moves a member from bit `cur`, where the compiler would otherwise place it, to bit
/// `off`: what `____cacheline_aligned` and friends leave in BTF.
///
/// BTF does not record alignment. The smallest candidate is a lower bound of (and divides) the
/// real one, so the struct never ends up more aligned than the original: every place the
/// original was embedded at still fits it.
fn raised_align(cur: u64, off: u64, natural: u32) -> Option<u32> {
    if off % 8 != 0 {
        return None;
    }
    let mut a = u64::from(natural.max(1)) * 2;
    while a <= 4096 {
        match round_up(cur, a * 8) {
            r if r == off => return u32::try_from(a).ok(),
            r if r > off => return None,
            _ => a *= 2,
        }
    }
    None
}

/// Natural alignment of a scalar of `size` bytes on the BPF target.
fn scalar_align(size: u32) -> u32 {
    size.clamp(1, 16).next_power_of_two()
}

impl<'b, 'a, W: Write + ?Sized> Dumper<'b, 'a, W> {
    fn new(btf: &'b Btf<'a>, out: &'b mut W) -> Result<Self, CDumpError> {
        let len = btf.len();
        let n = len as usize;
        let mut d = Dumper {
            btf,
            out,
            buf: String::with_capacity(FLUSH_AT + 4096),
            st: vec![State::default(); n.max(1)],
            layout: vec![Layout::default(); n.max(1)],
            align: vec![0; n.max(1)],
            type_names: NameMap::default(),
            ident_names: NameMap::default(),
            queue: Vec::new(),
            stack: Vec::with_capacity(64),
            has_type_tags: false,
            len,
        };
        if let Some(v) = d.st.first_mut() {
            v.order = Order::Done;
            v.emit = Emit::Done;
        }
        d.scan()?;
        Ok(d)
    }

    #[inline]
    fn ty(&self, id: TypeId) -> Result<Type<'a>, CDumpError> {
        Ok(self.btf.type_by_id(id)?)
    }

    #[inline]
    fn state(&mut self, id: TypeId) -> Result<&mut State, CDumpError> {
        let len = self.len;
        // A match, not `ok_or`: this is the hottest call and the unused error is not free.
        match self.st.get_mut(id as usize) {
            Some(st) => Ok(st),
            None => Err(CDumpError::IdOutOfRange { id, len }),
        }
    }

    fn set_referenced(&mut self, id: TypeId) -> Result<(), CDumpError> {
        self.state(id)?.referenced = true;
        Ok(())
    }

    /// The raw record of a type and its blob's byte order (looking into the base for split BTF).
    fn raw_record(&self, id: TypeId) -> Option<(&'a [u8], Endian)> {
        let mut b: &Btf<'a> = self.btf;
        loop {
            if id >= b.first_id() {
                return b.raw_type_bytes(id).map(|r| (r, b.endian()));
            }
            b = b.base()?;
        }
    }

    /// First pass over every type, straight from the records (no names decoded): marks every
    /// type some other type refers to (an anonymous enum nobody refers to is a top-level
    /// constant declaration, one that is referred to is written inline), notes which types
    /// have no C declaration, and whether any type tag exists.
    fn scan(&mut self) -> Result<(), CDumpError> {
        let len = self.len;
        for id in 1..len {
            let Some((raw, e)) = self.raw_record(id) else {
                return Err(CDumpError::IdOutOfRange { id, len });
            };
            let word = |off: usize| u32_at(raw, off, e);
            let info = word(4);
            let kind = Kind::from_u8(((info >> 24) & 0x1f) as u8).unwrap_or(Kind::Void);
            let vlen = (info & 0xffff) as usize;
            let target = word(8);
            match kind {
                Kind::Ptr
                | Kind::Typedef
                | Kind::Volatile
                | Kind::Const
                | Kind::Restrict
                | Kind::TypeTag
                | Kind::DeclTag
                | Kind::Func
                | Kind::Var => self.set_referenced(target)?,
                Kind::Array => {
                    self.set_referenced(word(12))?;
                    self.set_referenced(word(16))?;
                }
                Kind::Struct | Kind::Union => {
                    for i in 0..vlen {
                        self.set_referenced(word(12 + 12 * i + 4))?;
                    }
                }
                Kind::FuncProto => {
                    self.set_referenced(target)?;
                    for i in 0..vlen {
                        self.set_referenced(word(12 + 8 * i + 4))?;
                    }
                }
                Kind::Datasec => {
                    for i in 0..vlen {
                        self.set_referenced(word(12 + 12 * i))?;
                    }
                }
                _ => {}
            }
            if kind == Kind::TypeTag {
                self.has_type_tags = true;
            }
            if matches!(kind, Kind::Func | Kind::Var | Kind::Datasec | Kind::DeclTag) {
                // Nothing to declare: done before it starts.
                let st = self.state(id)?;
                st.order = Order::Done;
                st.emit = Emit::Done;
            }
        }
        Ok(())
    }

    // ---------------------------------------------------------------- output

    #[inline]
    fn put(&mut self, s: &str) {
        self.buf.push_str(s);
    }

    fn indent(&mut self, lvl: u32) {
        for _ in 0..lvl {
            self.buf.push('\t');
        }
    }

    fn flush_if_full(&mut self) -> Result<(), CDumpError> {
        if self.buf.len() >= FLUSH_AT {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), CDumpError> {
        self.out.write_all(self.buf.as_bytes())?;
        self.buf.clear();
        Ok(())
    }

    fn header(&mut self, opts: &COptions) -> Result<(), CDumpError> {
        self.put("#ifndef __VMLINUX_H__\n#define __VMLINUX_H__\n\n");
        if opts.preserve_access_index {
            self.put(
                "#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n\
                 #pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)\n\
                 #endif\n\n",
            );
        }
        if self.has_type_tags {
            let _ = write!(
                self.buf,
                "#ifndef {m}\n\
                 #if defined(__clang__) && defined(__has_attribute)\n\
                 #if __has_attribute(btf_type_tag) && !defined(BPF_NO_TYPE_TAGS)\n\
                 #define {m}(x) __attribute__((btf_type_tag(x)))\n\
                 #endif\n\
                 #endif\n\
                 #endif\n\
                 #ifndef {m}\n\
                 #define {m}(x)\n\
                 #endif\n\n",
                m = TYPE_TAG_MACRO
            );
        }
        Ok(())
    }

    fn footer(&mut self, opts: &COptions) -> Result<(), CDumpError> {
        if opts.preserve_access_index {
            self.put(
                "#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute pop\n#endif\n\n",
            );
        }
        self.put("#endif /* __VMLINUX_H__ */\n");
        Ok(())
    }

    // ---------------------------------------------------------------- names

    /// Picks (once) the name a type is written with; `ident` selects the typedef/enumerator
    /// namespace instead of the struct/union/enum tag namespace.
    fn resolve_name(&mut self, id: TypeId, t: &Type<'a>, ident: bool) -> Result<u32, CDumpError> {
        let st = self.state(id)?;
        if st.name_dup != 0 {
            return Ok(st.name_dup);
        }
        let dup = if t.name.is_empty()
            || matches!(t.kind, TypeKind::Fwd { .. })
            || (matches!(t.kind, TypeKind::Enum { .. }) && t.vlen() == 0)
        {
            // Forward declarations name whatever type carries the name.
            1
        } else {
            let map = if ident {
                &mut self.ident_names
            } else {
                &mut self.type_names
            };
            let n = map.entry(t.name).or_insert(0);
            *n += 1;
            *n
        };
        self.state(id)?.name_dup = dup;
        Ok(dup)
    }

    fn put_name(&mut self, name: &str, dup: u32) {
        self.buf.push_str(name);
        if dup > 1 {
            let _ = write!(self.buf, "___{dup}");
        }
    }

    fn put_type_name(&mut self, id: TypeId, t: &Type<'a>) -> Result<(), CDumpError> {
        let dup = self.resolve_name(id, t, false)?;
        self.put_name(t.name, dup);
        Ok(())
    }

    fn put_ident_name(&mut self, id: TypeId, t: &Type<'a>) -> Result<(), CDumpError> {
        let dup = self.resolve_name(id, t, true)?;
        self.put_name(t.name, dup);
        Ok(())
    }

    // ---------------------------------------------------------------- ordering

    /// Dumps `id` and every type it needs that was not dumped yet.
    fn dump_type(&mut self, id: TypeId) -> Result<(), CDumpError> {
        self.queue.clear();
        self.order(id, false, 0)?;
        let queue = std::mem::take(&mut self.queue);
        for &q in &queue {
            self.emit(q, 0, 0)?;
            self.flush_if_full()?;
        }
        self.queue = queue;
        Ok(())
    }

    /// Depth-first walk that queues named definitions so each comes after what it embeds.
    ///
    /// Returns whether the path that reached `id` needs `id` fully defined (true: embedded by
    /// value or anonymous, so inlined) or can live with a forward declaration (false: reached
    /// through a pointer and named).
    fn order(&mut self, id: TypeId, through_ptr: bool, depth: u32) -> Result<bool, CDumpError> {
        if depth > MAX_DEPTH {
            return Err(too_deep(id));
        }
        let state = self.state(id)?.order;
        if state == Order::Done {
            return Ok(true);
        }
        // Kinds without names or members are followed straight from the record.
        let h = self.head(id)?;
        match h.kind {
            Kind::Ptr => {
                let strong = self.order(h.size_or_type, true, depth + 1)?;
                self.state(id)?.order = Order::Done;
                return Ok(strong);
            }
            Kind::Array => return self.order(h.elem, false, depth + 1),
            Kind::Volatile | Kind::Const | Kind::Restrict | Kind::TypeTag => {
                return self.order(h.size_or_type, through_ptr, depth + 1)
            }
            Kind::FuncProto => {
                let mut strong = self.order(h.size_or_type, through_ptr, depth + 1)?;
                for i in 0..h.vlen {
                    strong |= self.order(h.param_type(i), through_ptr, depth + 1)?;
                }
                return Ok(strong);
            }
            _ => {}
        }
        let t = self.ty(id)?;
        let composite = matches!(t.kind, TypeKind::Struct { .. } | TypeKind::Union { .. });
        if state == Order::Visiting {
            if composite && through_ptr && !t.name.is_empty() {
                return Ok(false);
            }
            return Err(type_err(
                id,
                "type contains itself by value (cycle that C cannot express)",
            ));
        }
        match t.kind {
            TypeKind::Void => Ok(true),
            TypeKind::Int { .. } | TypeKind::Float { .. } => {
                self.state(id)?.order = Order::Done;
                Ok(false)
            }
            TypeKind::Ptr { target } => {
                let strong = self.order(target, true, depth + 1)?;
                self.state(id)?.order = Order::Done;
                Ok(strong)
            }
            TypeKind::Array { elem, .. } => self.order(elem, false, depth + 1),
            TypeKind::Struct { .. } | TypeKind::Union { .. } => {
                if through_ptr && !t.name.is_empty() {
                    return Ok(false);
                }
                self.state(id)?.order = Order::Visiting;
                for i in 0..h.vlen {
                    self.order(h.member(i).0, false, depth + 1)?;
                }
                if !t.name.is_empty() {
                    self.queue.push(id);
                }
                self.state(id)?.order = Order::Done;
                Ok(true)
            }
            TypeKind::Enum { .. } | TypeKind::Enum64 { .. } | TypeKind::Fwd { .. } => {
                let st = self.state(id)?;
                let top_level = !t.name.is_empty() || !st.referenced;
                st.order = Order::Done;
                if top_level {
                    self.queue.push(id);
                }
                Ok(true)
            }
            TypeKind::Typedef { target } => {
                let strong = self.order(target, through_ptr, depth + 1)?;
                if through_ptr && !strong {
                    return Ok(false);
                }
                self.queue.push(id);
                self.state(id)?.order = Order::Done;
                Ok(true)
            }
            TypeKind::Volatile { target }
            | TypeKind::Const { target }
            | TypeKind::Restrict { target }
            | TypeKind::TypeTag { target } => self.order(target, through_ptr, depth + 1),
            TypeKind::FuncProto { ret, params } => {
                let mut strong = self.order(ret, through_ptr, depth + 1)?;
                for p in params.iter() {
                    strong |= self.order(p.ty, through_ptr, depth + 1)?;
                }
                Ok(strong)
            }
            TypeKind::Func { .. }
            | TypeKind::Var { .. }
            | TypeKind::Datasec { .. }
            | TypeKind::DeclTag { .. } => {
                self.state(id)?.order = Order::Done;
                Ok(false)
            }
        }
    }

    // ---------------------------------------------------------------- emission

    /// Writes the definition of `id` (when `cont_id == 0`, a top-level definition) after making
    /// sure every type it mentions is defined or forward-declared. `cont_id` is the named type
    /// being defined around this reference, which needs no forward declaration of itself.
    fn emit(&mut self, id: TypeId, cont_id: TypeId, depth: u32) -> Result<(), CDumpError> {
        if depth > MAX_DEPTH {
            return Err(too_deep(id));
        }
        let st = *self.state(id)?;
        if st.emit == Emit::Done {
            return Ok(());
        }
        if st.emit == Emit::Pending {
            // Kinds without names or members are followed straight from the record.
            let h = self.head(id)?;
            match h.kind {
                Kind::Ptr | Kind::Volatile | Kind::Const | Kind::Restrict | Kind::TypeTag => {
                    return self.emit(h.size_or_type, cont_id, depth + 1)
                }
                Kind::Array => return self.emit(h.elem, cont_id, depth + 1),
                Kind::FuncProto => {
                    self.emit(h.size_or_type, cont_id, depth + 1)?;
                    for i in 0..h.vlen {
                        self.emit(h.param_type(i), cont_id, depth + 1)?;
                    }
                    return Ok(());
                }
                _ => {}
            }
        }
        let t = self.ty(id)?;
        let top_level = cont_id == 0;

        if st.emit == Emit::InProgress {
            // Reached again while being defined: only a pointer can get us here.
            if st.fwd_emitted {
                return Ok(());
            }
            match t.kind {
                TypeKind::Struct { .. } | TypeKind::Union { .. } => {
                    if id == cont_id {
                        return Ok(());
                    }
                    if t.name.is_empty() {
                        return Err(type_err(id, "anonymous struct/union refers to itself"));
                    }
                    self.put_struct_fwd(id, &t)?;
                    self.put(";\n\n");
                    self.state(id)?.fwd_emitted = true;
                }
                TypeKind::Typedef { target } => {
                    self.put_typedef(id, &t, target)?;
                    self.state(id)?.fwd_emitted = true;
                }
                _ => {}
            }
            return Ok(());
        }

        match t.kind {
            TypeKind::Void | TypeKind::Int { .. } | TypeKind::Float { .. } => {
                self.state(id)?.emit = Emit::Done;
            }
            TypeKind::Enum { .. } | TypeKind::Enum64 { .. } => {
                if top_level {
                    self.put_enum_def(id, &t, 0)?;
                    self.put(";\n\n");
                }
                self.state(id)?.emit = Emit::Done;
            }
            TypeKind::Ptr { target }
            | TypeKind::Volatile { target }
            | TypeKind::Const { target }
            | TypeKind::Restrict { target }
            | TypeKind::TypeTag { target } => self.emit(target, cont_id, depth + 1)?,
            TypeKind::Array { elem, .. } => self.emit(elem, cont_id, depth + 1)?,
            TypeKind::Fwd { union } => {
                self.put(if union { "union " } else { "struct " });
                self.put_type_name(id, &t)?;
                self.put(";\n\n");
                self.state(id)?.emit = Emit::Done;
            }
            TypeKind::Typedef { target } => {
                self.state(id)?.emit = Emit::InProgress;
                self.emit(target, id, depth + 1)?;
                if !self.state(id)?.fwd_emitted {
                    self.put_typedef(id, &t, target)?;
                }
                self.state(id)?.emit = Emit::Done;
            }
            TypeKind::Struct { .. } | TypeKind::Union { .. } => {
                self.state(id)?.emit = Emit::InProgress;
                if top_level || t.name.is_empty() {
                    // The members' types get written out: they need definitions or
                    // forward declarations first.
                    let inner = if t.name.is_empty() { cont_id } else { id };
                    let h = self.head(id)?;
                    for i in 0..h.vlen {
                        self.emit(h.member(i).0, inner, depth + 1)?;
                    }
                } else if !st.fwd_emitted && id != cont_id {
                    self.put_struct_fwd(id, &t)?;
                    self.put(";\n\n");
                    self.state(id)?.fwd_emitted = true;
                }
                if top_level {
                    self.put_struct_def(id, &t, 0, depth)?;
                    self.put(";\n\n");
                    self.state(id)?.emit = Emit::Done;
                } else {
                    self.state(id)?.emit = Emit::Pending;
                }
            }
            TypeKind::FuncProto { ret, params } => {
                self.emit(ret, cont_id, depth + 1)?;
                for p in params.iter() {
                    self.emit(p.ty, cont_id, depth + 1)?;
                }
            }
            TypeKind::Func { .. }
            | TypeKind::Var { .. }
            | TypeKind::Datasec { .. }
            | TypeKind::DeclTag { .. } => {}
        }
        Ok(())
    }

    fn put_typedef(&mut self, id: TypeId, t: &Type<'a>, target: TypeId) -> Result<(), CDumpError> {
        // The compiler defines this one itself; redefining it breaks the build.
        if t.name == BUILTIN_VA_LIST {
            return Ok(());
        }
        let dup = self.resolve_name(id, t, true)?;
        if target == 0 && t.name == "__gnuc_va_list" {
            // Some compilers record this typedef as pointing to void.
            self.put("typedef __builtin_va_list __gnuc_va_list;\n\n");
            return Ok(());
        }
        self.put("typedef ");
        let name_start = self.buf.len();
        self.put_name(t.name, dup);
        let name = self.buf.split_off(name_start);
        self.emit_decl(target, &name, 0, 0)?;
        self.put(";\n\n");
        Ok(())
    }

    fn put_struct_fwd(&mut self, id: TypeId, t: &Type<'a>) -> Result<(), CDumpError> {
        let union = matches!(t.kind, TypeKind::Union { .. });
        self.put(if union { "union" } else { "struct" });
        if !t.name.is_empty() {
            self.put(" ");
            self.put_type_name(id, t)?;
        }
        Ok(())
    }

    // ---------------------------------------------------------------- layout

    /// Kind and the fields size and alignment need, read from the record without decoding
    /// names (these are asked for several times per member).
    fn head(&self, id: TypeId) -> Result<Head<'a>, CDumpError> {
        if id == 0 {
            return Ok(Head {
                kind: Kind::Void,
                kflag: false,
                vlen: 0,
                raw: &[],
                endian: Endian::Little,
                size_or_type: 0,
                elem: 0,
                len: 0,
            });
        }
        let len = self.len;
        let Some((raw, e)) = self.raw_record(id) else {
            return Err(CDumpError::IdOutOfRange { id, len });
        };
        let info = u32_at(raw, 4, e);
        Ok(Head {
            kind: Kind::from_u8(((info >> 24) & 0x1f) as u8).unwrap_or(Kind::Void),
            kflag: info >> 31 != 0,
            vlen: (info & 0xffff) as usize,
            raw,
            endian: e,
            size_or_type: u32_at(raw, 8, e),
            elem: u32_at(raw, 12, e),
            len: u32_at(raw, 20, e),
        })
    }

    /// Size in bytes of a type as a member (0 for types without a size).
    fn size_of(&self, mut id: TypeId) -> Result<u64, CDumpError> {
        let mut mult: u64 = 1;
        for _ in 0..MAX_DEPTH {
            let h = self.head(id)?;
            let size = match h.kind {
                Kind::Int
                | Kind::Float
                | Kind::Enum
                | Kind::Enum64
                | Kind::Struct
                | Kind::Union
                | Kind::Datasec => u64::from(h.size_or_type),
                Kind::Ptr => 8,
                Kind::Array => {
                    mult = mult
                        .checked_mul(u64::from(h.len))
                        .ok_or_else(|| type_err(id, "array size overflows"))?;
                    id = h.elem;
                    continue;
                }
                Kind::Typedef | Kind::Volatile | Kind::Const | Kind::Restrict | Kind::TypeTag => {
                    id = h.size_or_type;
                    continue;
                }
                _ => 0,
            };
            return size
                .checked_mul(mult)
                .ok_or_else(|| type_err(id, "array size overflows"));
        }
        Err(too_deep(id))
    }

    /// Alignment in bytes of a type as the emitted C declares it.
    fn align_of(&mut self, id: TypeId, depth: u32) -> Result<u32, CDumpError> {
        if depth > MAX_DEPTH {
            return Err(too_deep(id));
        }
        if let Some(&a) = self.align.get(id as usize) {
            if a != 0 {
                return Ok(1 << (a - 1));
            }
        }
        let h = self.head(id)?;
        let align = match h.kind {
            Kind::Int | Kind::Float | Kind::Enum | Kind::Enum64 => scalar_align(h.size_or_type),
            Kind::Ptr => 8,
            Kind::Array => self.align_of(h.elem, depth + 1)?,
            Kind::Typedef | Kind::Volatile | Kind::Const | Kind::Restrict | Kind::TypeTag => {
                self.align_of(h.size_or_type, depth + 1)?
            }
            Kind::Struct | Kind::Union => {
                let t = self.ty(id)?;
                self.layout(id, &t, depth)?.align
            }
            _ => 1,
        };
        if let Some(slot) = self.align.get_mut(id as usize) {
            // Alignments are powers of two up to 2^12 here.
            *slot = align.trailing_zeros() as u8 + 1;
        }
        Ok(align)
    }

    /// Works out whether a struct/union needs `packed`/`aligned` and its resulting alignment.
    fn layout(&mut self, id: TypeId, t: &Type<'a>, depth: u32) -> Result<Layout, CDumpError> {
        if let Some(l) = self.layout.get(id as usize) {
            if l.known {
                return Ok(*l);
            }
        }
        let (size, is_union) = match t.kind {
            TypeKind::Struct { size, .. } => (size, false),
            TypeKind::Union { size, .. } => (size, true),
            _ => return Ok(Layout::default()),
        };
        let h = self.head(id)?;
        let size_bits = u64::from(size) * 8;
        let mut max_align: u32 = 1;
        let mut packed = false;
        let mut max_bits: u64 = 0;
        for i in 0..h.vlen {
            let (ty, bit_offset, bitfield_size) = h.member(i);
            let align = self.align_of(ty, depth + 1)?;
            max_align = max_align.max(align);
            let off = u64::from(bit_offset);
            let unit = u64::from(align) * 8;
            if bitfield_size == 0 {
                if off % unit != 0 {
                    packed = true;
                }
                max_bits = max_bits.max(off + self.size_of(ty)? * 8);
            } else {
                // A bitfield may not straddle a unit of its type unless the struct is packed.
                if off % unit + u64::from(bitfield_size) > unit {
                    packed = true;
                }
                max_bits = max_bits.max(off + u64::from(bitfield_size));
            }
        }
        if u64::from(size) % u64::from(max_align) != 0 {
            packed = true;
        }
        let mut l = Layout {
            known: true,
            align: if packed { 1 } else { max_align },
            packed,
            force_align: 0,
            union_pad: false,
            member_align: false,
        };
        if !is_union && !packed {
            // Would aligned members explain the gaps? Only if the struct's size stays a
            // multiple of the alignment they give it.
            let mut cur: u64 = 0;
            let mut align = max_align;
            let mut raised = false;
            for i in 0..h.vlen {
                let (ty, bit_offset, bitfield_size) = h.member(i);
                let off = u64::from(bit_offset);
                if bitfield_size != 0 {
                    cur = off + u64::from(bitfield_size);
                    continue;
                }
                let natural_align = self.align_of(ty, depth + 1)?;
                if round_up(cur, u64::from(natural_align) * 8) != off && cur < off {
                    if let Some(a) = raised_align(cur, off, natural_align) {
                        align = align.max(a);
                        raised = true;
                    }
                }
                cur = off + self.size_of(ty)? * 8;
            }
            let unit = u64::from(align) * 8;
            if raised && size_bits % unit == 0 && round_up(cur, unit) <= size_bits {
                l.align = align;
                l.member_align = true;
            }
        }
        if is_union && !packed {
            let natural = round_up(max_bits, u64::from(max_align) * 8);
            if natural > size_bits {
                // Members more aligned than the union's size allows: only packing fits.
                l.packed = true;
                l.align = 1;
                l.union_pad = max_bits < size_bits;
            } else if natural < size_bits {
                // The union is bigger than its members: raise its alignment if that explains
                // the size, else pad it with an anonymous struct of unnamed bitfields.
                let max_bytes = max_bits.div_ceil(8);
                // The largest alignment the size allows; smaller ones round up to less.
                let n = 1u64 << u64::from(size).trailing_zeros().min(12);
                if n > u64::from(max_align) && round_up(max_bytes, n) == u64::from(size) {
                    l.force_align = n as u32;
                    l.align = n as u32;
                } else {
                    l.union_pad = true;
                }
            }
        }
        if let Some(slot) = self.layout.get_mut(id as usize) {
            *slot = l;
        }
        Ok(l)
    }

    /// Bit position the compiler would give `m` if it came right after bit `cur`.
    fn natural_pos(
        &mut self,
        cur: u64,
        m: &Member<'a>,
        packed: bool,
        depth: u32,
    ) -> Result<u64, CDumpError> {
        if packed {
            return Ok(cur);
        }
        let unit = u64::from(self.align_of(m.ty, depth + 1)?) * 8;
        if m.bitfield_size == 0 {
            return Ok(round_up(cur, unit));
        }
        if cur % unit + u64::from(m.bitfield_size) > unit {
            Ok(round_up(cur, unit))
        } else {
            Ok(cur)
        }
    }

    /// Fills bits `[cur, to)` with unnamed bitfields, each inside one naturally aligned unit.
    ///
    /// Outside packed structs a `long: 64` that does not fit in the rest of the current 64-bit
    /// unit starts the next one, so a partial unit followed by whole ones needs no filler.
    fn put_padding(&mut self, mut cur: u64, to: u64, packed: bool, lvl: u32) {
        let next_unit = round_up(cur, 64);
        if !packed && next_unit != cur && to >= next_unit + 64 {
            cur = next_unit;
        }
        while cur < to {
            let room = 64 - cur % 64;
            let bits = room.min(to - cur);
            let ty = [("char", 8), ("short", 16), ("int", 32)]
                .iter()
                .find(|(_, w)| cur % w + bits <= *w)
                .map_or("long", |(n, _)| n);
            self.put("\n");
            self.indent(lvl);
            let _ = write!(self.buf, "{ty}: {bits};");
            cur += bits;
        }
    }

    /// An unnamed member whose type is a named struct/union (directly or through a typedef):
    /// C (without `-fms-extensions`) has no syntax for it, so its body is written inline as an
    /// anonymous struct/union, which gives the same layout and member names.
    fn unnamed_record_member(
        &self,
        m: &Member<'a>,
    ) -> Result<Option<(TypeId, Type<'a>)>, CDumpError> {
        if !m.name.is_empty() || m.bitfield_size != 0 {
            return Ok(None);
        }
        let mut id = m.ty;
        let mut via_typedef = false;
        for _ in 0..MAX_DEPTH {
            let t = self.ty(id)?;
            match t.kind {
                TypeKind::Typedef { target } => {
                    via_typedef = true;
                    id = target;
                }
                TypeKind::Struct { .. } | TypeKind::Union { .. } => {
                    return Ok((via_typedef || !t.name.is_empty()).then_some((id, t)));
                }
                _ => return Ok(None),
            }
        }
        Err(too_deep(m.ty))
    }

    fn put_struct_def(
        &mut self,
        id: TypeId,
        t: &Type<'a>,
        lvl: u32,
        depth: u32,
    ) -> Result<(), CDumpError> {
        self.put_record(id, t, lvl, depth, false)
    }

    /// Writes a struct/union definition; `anonymous` leaves the tag out.
    fn put_record(
        &mut self,
        id: TypeId,
        t: &Type<'a>,
        lvl: u32,
        depth: u32,
        anonymous: bool,
    ) -> Result<(), CDumpError> {
        if depth > MAX_DEPTH {
            return Err(too_deep(id));
        }
        let (size, members, is_union) = match t.kind {
            TypeKind::Struct { size, members } => (size, members, false),
            TypeKind::Union { size, members } => (size, members, true),
            _ => return Ok(()),
        };
        let l = self.layout(id, t, depth)?;
        if anonymous {
            self.put(if is_union { "union" } else { "struct" });
        } else {
            self.put_struct_fwd(id, t)?;
        }
        self.put(" {");
        let size_bits = u64::from(size) * 8;
        let mut cur: u64 = 0;
        for m in members.iter() {
            let off = u64::from(m.bit_offset);
            if off > size_bits {
                return Err(CDumpError::Type {
                    id,
                    problem: "member offset past the end of the struct",
                });
            }
            let mut raised = None;
            if !is_union {
                let natural = self.natural_pos(cur, &m, l.packed, depth)?;
                if natural != off && cur < off {
                    if l.member_align && m.bitfield_size == 0 {
                        let natural_align = self.align_of(m.ty, depth + 1)?;
                        raised = raised_align(cur, off, natural_align);
                    }
                    if raised.is_none() {
                        check_padding(id, cur, off)?;
                        self.put_padding(cur, off, l.packed, lvl + 1);
                    }
                }
            }
            self.put("\n");
            self.indent(lvl + 1);
            match self.unnamed_record_member(&m)? {
                Some((rid, rt)) => self.put_record(rid, &rt, lvl + 1, depth + 1, true)?,
                None => self.emit_decl(m.ty, m.name, lvl + 1, depth + 1)?,
            }
            if m.bitfield_size != 0 {
                let _ = write!(self.buf, ": {}", m.bitfield_size);
                cur = off + u64::from(m.bitfield_size);
            } else {
                cur = off + self.size_of(m.ty)? * 8;
            }
            if let Some(a) = raised {
                let _ = write!(self.buf, " __attribute__((aligned({a})))");
            }
            self.put(";");
        }
        if !is_union {
            let natural_end = round_up(cur, u64::from(l.align) * 8);
            if natural_end != size_bits && cur < size_bits {
                check_padding(id, cur, size_bits)?;
                self.put_padding(cur, size_bits, l.packed, lvl + 1);
            }
        } else if l.union_pad {
            self.put("\n");
            self.indent(lvl + 1);
            self.put("struct {");
            check_padding(id, 0, size_bits)?;
            self.put_padding(0, size_bits, false, lvl + 2);
            self.put("\n");
            self.indent(lvl + 1);
            self.put("};");
        }
        if members.is_empty() && size == 0 {
            self.put("}");
        } else {
            self.put("\n");
            self.indent(lvl);
            self.put("}");
        }
        if l.packed {
            self.put(" __attribute__((packed))");
        }
        if l.force_align != 0 {
            let _ = write!(self.buf, " __attribute__((aligned({})))", l.force_align);
        }
        Ok(())
    }

    fn put_enum_def(&mut self, id: TypeId, t: &Type<'a>, lvl: u32) -> Result<(), CDumpError> {
        self.put("enum");
        if !t.name.is_empty() {
            self.put(" ");
            self.put_type_name(id, t)?;
        }
        let (size, signed, values, is64) = match t.kind {
            TypeKind::Enum {
                size,
                signed,
                values,
            } => (size, signed, values.iter().collect::<Vec<_>>(), false),
            TypeKind::Enum64 {
                size,
                signed,
                values,
            } => (size, signed, values.iter().collect::<Vec<_>>(), true),
            _ => return Ok(()),
        };
        if values.is_empty() {
            return Ok(());
        }
        self.put(" {");
        let mut fits_32 = true;
        for v in &values {
            self.put("\n");
            self.indent(lvl + 1);
            let n = self.ident_names.entry(v.name).or_insert(0);
            *n += 1;
            let dup = *n;
            self.put_name(v.name, dup);
            self.put(" = ");
            if !(i128::from(i32::MIN)..=i128::from(u32::MAX)).contains(&v.value) {
                fits_32 = false;
            }
            self.put_enum_value(v.value, signed, is64);
            self.put(",");
        }
        self.put("\n");
        self.indent(lvl);
        self.put("}");
        match size {
            1 => self.put(" __attribute__((mode(byte)))"),
            2 => self.put(" __attribute__((mode(HI)))"),
            // A value wider than 32 bits already makes the enum 8 bytes.
            8 if fits_32 => self.put(" __attribute__((mode(word)))"),
            _ => {}
        }
        Ok(())
    }

    fn put_enum_value(&mut self, v: i128, signed: bool, is64: bool) {
        if v == i128::from(i64::MIN) {
            self.put("(-9223372036854775807LL - 1)");
            return;
        }
        let _ = write!(self.buf, "{v}");
        if is64 {
            self.put(if signed || v < 0 { "LL" } else { "ULL" });
        }
    }

    // ---------------------------------------------------------------- declarations

    /// Writes a declaration of `fname` with type `id` (`fname` may be empty), e.g.
    /// `const char *(*name[4])(int)`.
    ///
    /// The chain of types from `id` down to a named/base type is pushed on the shared stack
    /// (this call's frame starts at the current stack height) and written from the base type
    /// back up: qualifiers go left of base types and right of pointers, arrays and function
    /// prototypes wrap the rest of the declarator in parentheses.
    fn emit_decl(
        &mut self,
        mut id: TypeId,
        fname: &str,
        lvl: u32,
        depth: u32,
    ) -> Result<(), CDumpError> {
        if depth > MAX_DEPTH {
            return Err(too_deep(id));
        }
        let start = self.stack.len();
        for _ in 0..MAX_DEPTH {
            self.stack.push(id);
            if id == 0 {
                break;
            }
            let h = self.head(id)?;
            match h.kind {
                Kind::Ptr
                | Kind::Volatile
                | Kind::Const
                | Kind::Restrict
                | Kind::TypeTag
                | Kind::FuncProto => id = h.size_or_type,
                Kind::Array => id = h.elem,
                Kind::Typedef => {
                    let target = h.size_or_type;
                    if target != 0 && self.ty(id)?.name == BUILTIN_VA_LIST {
                        // Not redefinable in C: written as the type it stands for, which
                        // keeps the layout of structs holding a `va_list`.
                        self.stack.pop();
                        id = target;
                    } else {
                        break;
                    }
                }
                Kind::Int
                | Kind::Float
                | Kind::Enum
                | Kind::Enum64
                | Kind::Fwd
                | Kind::Struct
                | Kind::Union => break,
                Kind::Void | Kind::Func | Kind::Var | Kind::Datasec | Kind::DeclTag => {
                    self.stack.truncate(start);
                    return Err(type_err(id, "kind cannot appear in a C type declaration"));
                }
            }
        }
        if self.stack.len() - start >= MAX_DEPTH as usize {
            self.stack.truncate(start);
            return Err(too_deep(id));
        }
        let mut top = self.stack.len();
        let r = self.emit_chain(start, &mut top, fname, lvl, depth);
        self.stack.truncate(start);
        r
    }

    fn kind_at(&self, pos: usize) -> Result<Option<Kind>, CDumpError> {
        match self.stack.get(pos) {
            Some(&id) => Ok(Some(self.head(id)?.kind)),
            None => Ok(None),
        }
    }

    /// Writes (and pops) the qualifiers directly above the top of the frame, left of a base type.
    fn put_leading_mods(&mut self, start: usize, top: &mut usize) -> Result<(), CDumpError> {
        while *top > start {
            let kw = match self.kind_at(*top - 1)? {
                Some(Kind::Volatile) => "volatile ",
                Some(Kind::Const) => "const ",
                Some(Kind::Restrict) => "restrict ",
                _ => return Ok(()),
            };
            self.put(kw);
            *top -= 1;
        }
        Ok(())
    }

    /// Pops qualifiers that C cannot express at this point (on arrays and functions).
    fn drop_mods(&mut self, start: usize, top: &mut usize) -> Result<(), CDumpError> {
        while *top > start {
            match self.kind_at(*top - 1)? {
                Some(Kind::Volatile | Kind::Const | Kind::Restrict | Kind::TypeTag) => *top -= 1,
                _ => return Ok(()),
            }
        }
        Ok(())
    }

    fn put_decl_name(&mut self, fname: &str, last_was_ptr: bool) {
        if !fname.is_empty() && !last_was_ptr {
            self.put(" ");
        }
        self.put(fname);
    }

    fn emit_chain(
        &mut self,
        start: usize,
        top: &mut usize,
        fname: &str,
        lvl: u32,
        depth: u32,
    ) -> Result<(), CDumpError> {
        if depth > MAX_DEPTH {
            return Err(too_deep(0));
        }
        let mut last_was_ptr = true;
        while *top > start {
            *top -= 1;
            let id = self.stack.get(*top).copied().unwrap_or(0);
            if id == 0 {
                self.put_leading_mods(start, top)?;
                self.put("void");
                last_was_ptr = false;
                continue;
            }
            // Pointers and qualifiers need nothing but their kind.
            let fast = match self.head(id)?.kind {
                Kind::Ptr => Some(if last_was_ptr { "*" } else { " *" }),
                Kind::Volatile => Some(" volatile"),
                Kind::Const => Some(" const"),
                Kind::Restrict => Some(" restrict"),
                _ => None,
            };
            if let Some(text) = fast {
                self.put(text);
                last_was_ptr = text.ends_with('*');
                continue;
            }
            let t = self.ty(id)?;
            let mut is_ptr = false;
            match t.kind {
                TypeKind::Int { .. } | TypeKind::Float { .. } => {
                    self.put_leading_mods(start, top)?;
                    self.put(t.name);
                }
                TypeKind::Struct { .. } | TypeKind::Union { .. } => {
                    self.put_leading_mods(start, top)?;
                    if t.name.is_empty() {
                        self.put_struct_def(id, &t, lvl, depth + 1)?;
                    } else {
                        self.put_struct_fwd(id, &t)?;
                    }
                }
                TypeKind::Enum { .. } | TypeKind::Enum64 { .. } => {
                    self.put_leading_mods(start, top)?;
                    if t.name.is_empty() {
                        self.put_enum_def(id, &t, lvl)?;
                    } else {
                        self.put("enum ");
                        self.put_type_name(id, &t)?;
                    }
                }
                TypeKind::Fwd { union } => {
                    self.put_leading_mods(start, top)?;
                    self.put(if union { "union " } else { "struct " });
                    self.put_type_name(id, &t)?;
                }
                TypeKind::Typedef { .. } => {
                    self.put_leading_mods(start, top)?;
                    self.put_ident_name(id, &t)?;
                }
                TypeKind::Ptr { .. } => {
                    self.put(if last_was_ptr { "*" } else { " *" });
                    is_ptr = true;
                }
                TypeKind::Volatile { .. } => self.put(" volatile"),
                TypeKind::Const { .. } => self.put(" const"),
                TypeKind::Restrict { .. } => self.put(" restrict"),
                TypeKind::TypeTag { .. } => {
                    self.put_leading_mods(start, top)?;
                    if t.kind_flag() {
                        let _ = write!(self.buf, " __attribute__(({}))", t.name);
                    } else {
                        let _ = write!(self.buf, " {TYPE_TAG_MACRO}(\"{}\")", t.name);
                    }
                }
                TypeKind::Array { len, .. } => {
                    self.drop_mods(start, top)?;
                    if *top == start {
                        self.put_decl_name(fname, last_was_ptr);
                        let _ = write!(self.buf, "[{len}]");
                        return Ok(());
                    }
                    let multidim = self.kind_at(*top - 1)? == Some(Kind::Array);
                    if !fname.is_empty() && !last_was_ptr {
                        self.put(" ");
                    }
                    if !multidim {
                        self.put("(");
                    }
                    self.emit_chain(start, top, fname, lvl, depth + 1)?;
                    if !multidim {
                        self.put(")");
                    }
                    let _ = write!(self.buf, "[{len}]");
                    return Ok(());
                }
                TypeKind::FuncProto { params, .. } => {
                    self.drop_mods(start, top)?;
                    if *top > start {
                        self.put(" (");
                        self.emit_chain(start, top, fname, lvl, depth + 1)?;
                        self.put(")");
                    } else {
                        self.put_decl_name(fname, last_was_ptr);
                    }
                    self.put("(");
                    let n = params.len();
                    if n == 0 || (n == 1 && params.get(0).is_some_and(|p| p.ty == 0)) {
                        self.put("void)");
                        return Ok(());
                    }
                    for (i, p) in params.iter().enumerate() {
                        if i > 0 {
                            self.put(", ");
                        }
                        if i + 1 == n && p.ty == 0 {
                            self.put("...");
                            break;
                        }
                        self.emit_decl(p.ty, p.name, lvl, depth + 1)?;
                    }
                    self.put(")");
                    return Ok(());
                }
                TypeKind::Void
                | TypeKind::Func { .. }
                | TypeKind::Var { .. }
                | TypeKind::Datasec { .. }
                | TypeKind::DeclTag { .. } => {
                    return Err(type_err(id, "kind cannot appear in a C type declaration"));
                }
            }
            last_was_ptr = is_ptr;
        }
        self.put_decl_name(fname, last_was_ptr);
        Ok(())
    }
}
