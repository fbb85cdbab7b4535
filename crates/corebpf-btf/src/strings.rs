//! String sections: offset lookup across a split BTF's base chain.

use crate::error::BtfError;

/// A BTF string section plus, for split BTF, the base's sections before it.
///
/// Offsets below `start` belong to the base; `start` is the base's total string length.
#[derive(Clone, Copy)]
pub(crate) struct StrTab<'a> {
    /// This blob's string bytes.
    pub(crate) bytes: &'a [u8],
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

impl<'a> StrTab<'a> {
    /// One past the last valid offset in the combined string space.
    pub(crate) fn end(&self) -> u32 {
        self.start.saturating_add(self.bytes.len() as u32)
    }

    /// The NUL-terminated string at `off`.
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
