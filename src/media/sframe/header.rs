//! The SFrame header, RFC 9605 §4.3.
//!
//! ```text
//!  0 1 2 3 4 5 6 7
//! +-+-+-+-+-+-+-+-+------------------+------------------+
//! |X|  K  |Y|  C  |  KID (0-8 bytes) |  CTR (0-8 bytes) |
//! +-+-+-+-+-+-+-+-+------------------+------------------+
//! ```
//!
//! A value 0..=7 is carried in the config byte (flag clear); a larger value
//! follows the config byte, big-endian, in the minimum number of bytes, the
//! flag set and the 3-bit field holding that length minus one. KID comes
//! before CTR.
//!
//! Decoding is strict: a value written in more bytes than needed (or in the
//! extended form although it fits the config byte) is malformed, so each
//! (KID, CTR) has exactly one header, and the header a receiver
//! authenticates is the one the sender wrote.

use crate::error::{Error, Result};

/// The Key ID (KID) of RFC 9605 §4.3.
pub type KeyId = u64;
/// The frame counter (CTR) of RFC 9605 §4.3.
pub type Counter = u64;

/// The longest header: the config byte and two 8-byte fields.
pub const MAX_HEADER_LEN: usize = 17;

/// RFC 9605 §4.3: the extended flag (X for the KID, Y for the CTR) within a
/// 4-bit half of the config byte.
const EXTENDED: u8 = 0b1000;
/// The 3-bit value or length-minus-one within a half of the config byte.
const VALUE_MASK: u8 = 0b0111;
/// Largest value carried in the config byte itself.
const MAX_INLINE: u64 = 7;

/// An SFrame header: the Key ID and the frame counter (RFC 9605 §4.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SframeHeader {
    kid: KeyId,
    ctr: Counter,
}

impl SframeHeader {
    /// A header for `kid` and `ctr`.
    #[must_use]
    pub const fn new(kid: KeyId, ctr: Counter) -> Self {
        Self { kid, ctr }
    }

    /// The Key ID.
    #[must_use]
    pub const fn kid(&self) -> KeyId {
        self.kid
    }

    /// The frame counter.
    #[must_use]
    pub const fn ctr(&self) -> Counter {
        self.ctr
    }

    /// The length of the encoded header, 1 to [`MAX_HEADER_LEN`] bytes.
    #[must_use]
    pub const fn encoded_len(&self) -> usize {
        1 + field_len(self.kid) + field_len(self.ctr)
    }

    /// The minimal encoding of RFC 9605 §4.3.
    ///
    /// ```
    /// use phiseal::media::sframe::SframeHeader;
    /// assert_eq!(SframeHeader::new(0, 7).encode(), [0x07]);
    /// assert_eq!(SframeHeader::new(8, 256).encode(), [0x89, 0x08, 0x01, 0x00]);
    /// ```
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.encode_into(&mut out);
        out
    }

    /// Appends the encoding of RFC 9605 §4.3 to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let (kid_nibble, kid_len) = config_half(self.kid);
        let (ctr_nibble, ctr_len) = config_half(self.ctr);
        out.push(kid_nibble << 4 | ctr_nibble);
        out.extend(self.kid.to_be_bytes().iter().skip(8 - kid_len));
        out.extend(self.ctr.to_be_bytes().iter().skip(8 - ctr_len));
    }

    /// Reads a header from the start of `bytes`, returning it and the bytes
    /// after it.
    ///
    /// # Errors
    /// [`ErrorCode::MalformedInput`](crate::ErrorCode::MalformedInput) if
    /// `bytes` is empty, ends inside the header, or the header is not
    /// minimally encoded.
    pub fn read(bytes: &[u8]) -> Result<(Self, &[u8])> {
        let (&config, rest) = bytes.split_first().ok_or(Error::malformed("empty SFrame header"))?;
        let (kid, rest) = read_field(config >> 4, rest)?;
        let (ctr, rest) = read_field(config & 0x0f, rest)?;
        Ok((Self { kid, ctr }, rest))
    }

    /// Decodes a header that is exactly `bytes`.
    ///
    /// # Errors
    /// As [`SframeHeader::read`], and
    /// [`ErrorCode::MalformedInput`](crate::ErrorCode::MalformedInput) if
    /// bytes follow the header.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        match Self::read(bytes)? {
            (header, []) => Ok(header),
            _ => Err(Error::malformed("trailing bytes after SFrame header")),
        }
    }
}

impl TryFrom<&[u8]> for SframeHeader {
    type Error = Error;

    fn try_from(bytes: &[u8]) -> Result<Self> {
        Self::decode(bytes)
    }
}

/// Bytes needed after the config byte for `value` (0 if it fits inline).
const fn field_len(value: u64) -> usize {
    if value <= MAX_INLINE { 0 } else { 8 - (value.leading_zeros() / 8) as usize }
}

/// The config-byte half (flag and 3 bits) and the field length for `value`.
fn config_half(value: u64) -> (u8, usize) {
    let len = field_len(value);
    // `len` is 1..=8 and `value` 0..=7 on their branches: both fit 3 bits.
    let nibble = if len == 0 { (value as u8) & VALUE_MASK } else { EXTENDED | ((len - 1) as u8 & VALUE_MASK) };
    (nibble, len)
}

fn read_field(nibble: u8, rest: &[u8]) -> Result<(u64, &[u8])> {
    if nibble & EXTENDED == 0 {
        return Ok((u64::from(nibble & VALUE_MASK), rest));
    }
    let len = usize::from(nibble & VALUE_MASK) + 1;
    let (field, rest) = rest.split_at_checked(len).ok_or(Error::malformed("truncated SFrame header"))?;
    let value = field.iter().fold(0u64, |acc, &b| acc << 8 | u64::from(b));
    if field_len(value) != len {
        return Err(Error::malformed("SFrame header field not minimally encoded"));
    }
    Ok((value, rest))
}
