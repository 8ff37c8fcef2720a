//! Bounds-checked binary writer and reader for phiseal's wire formats
//! (docs/FORMAT.md §5): big-endian integers, length-prefixed strings.

use base64ct::{Base64UrlUnpadded, Encoding as _};

use crate::error::{Error, Result};

/// Appends big-endian fields to a buffer.
#[derive(Default)]
pub struct Writer(Vec<u8>);

impl Writer {
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.0.push(v);
        self
    }
    pub fn u16(&mut self, v: u16) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn raw(&mut self, v: &[u8]) -> &mut Self {
        self.0.extend_from_slice(v);
        self
    }
    /// `u8` length then bytes.
    pub fn str8(&mut self, v: &[u8]) -> Result<&mut Self> {
        let len = u8::try_from(v.len()).map_err(|_| Error::invalid_argument("value longer than 255 bytes"))?;
        Ok(self.u8(len).raw(v))
    }
    /// `u16` length then bytes.
    pub fn str16(&mut self, v: &[u8]) -> Result<&mut Self> {
        let len = u16::try_from(v.len()).map_err(|_| Error::invalid_argument("value longer than 65535 bytes"))?;
        Ok(self.u16(len).raw(v))
    }
    pub fn finish(self) -> Vec<u8> {
        self.0
    }
    pub fn as_slice(&self) -> &[u8] {
        &self.0
    }
}

/// Reads big-endian fields; every read is bounds-checked.
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

const TRUNCATED: Error = Error::malformed("truncated phiseal data");

impl<'a> Reader<'a> {
    pub const fn new(data: &'a [u8]) -> Self {
        Self { data, pos: 0 }
    }
    pub fn raw(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).ok_or(TRUNCATED)?;
        let out = self.data.get(self.pos..end).ok_or(TRUNCATED)?;
        self.pos = end;
        Ok(out)
    }
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.raw(N)?);
        Ok(out)
    }
    pub fn u8(&mut self) -> Result<u8> {
        Ok(u8::from_be_bytes(self.array()?))
    }
    pub fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_be_bytes(self.array()?))
    }
    pub fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_be_bytes(self.array()?))
    }
    pub fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_be_bytes(self.array()?))
    }
    pub fn str8(&mut self) -> Result<&'a [u8]> {
        let n = self.u8()?;
        self.raw(usize::from(n))
    }
    pub fn utf8_8(&mut self) -> Result<&'a str> {
        core::str::from_utf8(self.str8()?).map_err(|_| Error::malformed("invalid UTF-8 in phiseal data"))
    }
    pub const fn position(&self) -> usize {
        self.pos
    }
    /// Fails unless every byte was consumed.
    pub fn finish(&self) -> Result<()> {
        if self.pos == self.data.len() { Ok(()) } else { Err(Error::malformed("trailing bytes after phiseal data")) }
    }
}

/// base64url without padding.
pub fn b64(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}

/// Strict base64url without padding (canonical encodings only).
pub fn unb64(s: &str) -> Result<Vec<u8>> {
    Base64UrlUnpadded::decode_vec(s).map_err(|_| Error::malformed("invalid base64url"))
}
