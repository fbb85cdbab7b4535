//! String sections: offset lookup across a split BTF's base chain.

use crate::error::BtfError;

/// A BTF string section plus, for split BTF, the base's sections before it.
///
/// Offsets below `start` belong to the base; `start` is the base's total string length.
#[derive(Clone, Copy)]
pub(crate) struct StrTab<'a> {
    /// This blob's string bytes.
    pub(crate) bytes: &'a [u8],
    /// The same bytes as text when the whole section is valid UTF-8 (the usual case): then
    /// a lookup needs no per-string validation.
    pub(crate) text: Option<&'a str>,
    /// True if this section and all base sections are pure ASCII (every offset is a char
    /// boundary, so range checks suffice).
    pub(crate) ascii: bool,
    /// Offset of `bytes[0]` in the combined string space.
    pub(crate) start: u32,
    pub(crate) base: Option<&'a StrTab<'a>>,
}

impl std::fmt::Debug for StrTab<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StrTab")
            .field("start", &self.start)
            .field("len", &self.bytes.len())
            .finish()
    }
}

/// Position of the first NUL (or the length), eight bytes at a time: BTF strings are
/// short, so this beats both a byte loop and a vectorized search.
#[inline]
fn nul_pos(b: &[u8]) -> usize {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let mut chunks = b.chunks_exact(8);
    let mut base = 0usize;
    for c in &mut chunks {
        let mut a = [0u8; 8];
        a.copy_from_slice(c);
        let v = u64::from_le_bytes(a);
        let zero = v.wrapping_sub(LO) & !v & HI;
        if zero != 0 {
            return base + (zero.trailing_zeros() / 8) as usize;
        }
        base += 8;
        if base >= 256 {
            // A long string (a source line): finish with the vectorized search.
            let tail = b.get(base..).unwrap_or_default();
            return memchr::memchr(0, tail).map_or(b.len(), |p| base + p);
        }
    }
    let rest = chunks.remainder();
    rest.iter()
        .position(|&c| c == 0)
        .map_or(b.len(), |p| base + p)
}

impl<'a> StrTab<'a> {
    /// One past the last valid offset in the combined string space.
    pub(crate) fn end(&self) -> u32 {
        self.start.saturating_add(self.bytes.len() as u32)
    }

    /// The NUL-terminated string at `off`.
    #[inline]
    pub(crate) fn get(&self, off: u32) -> Result<&'a str, BtfError> {
        if off < self.start {
            return match self.base {
                Some(b) => b.get(off),
                None => Err(BtfError::StrOffset {
                    off,
                    end: self.end(),
                }),
            };
        }
        let rel = (off - self.start) as usize;
        if rel >= self.bytes.len() {
            return Err(BtfError::StrOffset {
                off,
                end: self.end(),
            });
        }
        if let Some(text) = self.text {
            // `get` refuses an offset inside a multi-byte character.
            let tail = text.get(rel..).ok_or(BtfError::StrUtf8 { off })?;
            let len = nul_pos(tail.as_bytes());
            return tail.get(..len).ok_or(BtfError::StrUtf8 { off });
        }
        let tail = self.bytes.get(rel..).unwrap_or_default();
        let len = memchr::memchr(0, tail).ok_or(BtfError::BadStringSection {
            problem: "not NUL-terminated",
        })?;
        std::str::from_utf8(tail.get(..len).unwrap_or_default())
            .map_err(|_| BtfError::StrUtf8 { off })
    }

    /// Checks that `off` starts a valid string; a range check when all sections are ASCII.
    #[inline]
    pub(crate) fn check(&self, off: u32) -> Result<(), BtfError> {
        if self.ascii && off < self.end() {
            return Ok(());
        }
        self.get(off).map(|_| ())
    }

    /// The name at `off`, for offsets validation has already checked ("" if it has not).
    #[inline]
    pub(crate) fn name(&self, off: u32) -> &'a str {
        if off == 0 {
            return "";
        }
        self.get(off).unwrap_or("")
    }

    /// True if the string at `off` is exactly `needle` minus its final NUL (`needle` must end
    /// with NUL).
    #[inline]
    pub(crate) fn eq_at(&self, off: u32, needle: &[u8]) -> bool {
        if off < self.start {
            return self.base.is_some_and(|b| b.eq_at(off, needle));
        }
        let rel = (off - self.start) as usize;
        self.bytes.get(rel..rel + needle.len()) == Some(needle)
    }

    /// Every offset in the combined string space whose string equals `name` (non-empty).
    pub(crate) fn find_all(&self, name: &str, out: &mut Vec<u32>) {
        if let Some(b) = self.base {
            b.find_all(name, out);
        }
        let n = name.len();
        let finder = memchr::memmem::Finder::new(name.as_bytes());
        let hay = self.bytes;
        let mut pos = 0usize;
        while let Some(i) = hay.get(pos..).and_then(|h| finder.find(h)) {
            let at = pos + i;
            if hay.get(at + n) == Some(&0) {
                out.push(self.start + at as u32);
            }
            pos = at + 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::nul_pos;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn nul_pos_finds_the_first_nul(bytes in proptest::collection::vec(prop_oneof![Just(0u8), 1u8..=255], 0..600)) {
            let want = bytes.iter().position(|&c| c == 0).unwrap_or(bytes.len());
            prop_assert_eq!(nul_pos(&bytes), want);
        }

        #[test]
        fn nul_pos_on_long_strings(len in 0usize..1000, tail in 0usize..9) {
            let mut bytes = vec![b'x'; len];
            bytes.push(0);
            bytes.resize(len + 1 + tail, b'y');
            prop_assert_eq!(nul_pos(&bytes), len);
            prop_assert_eq!(nul_pos(&bytes[..len]), len);
        }
    }
}
