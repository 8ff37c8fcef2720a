//! P-384 SubjectPublicKeyInfo (RFC 5480) and PKCS#8 (RFC 5208, with an
//! RFC 5915 `ECPrivateKey`) in DER, and their PEM armour (RFC 7468).
//!
//! Only the named-curve forms for id-ecPublicKey + secp384r1 exist here, so
//! this is template matching with a strict DER reader rather than a general
//! ASN.1 library (the `der`/`pkcs8`/`spki`/`pem-rfc7468` crates were about
//! 26 KB of the gzipped wasm, docs/DEPENDENCIES.md). Strict means: definite lengths
//! in their shortest form, no trailing bytes at any level, the exact
//! algorithm identifier (explicit curve parameters are refused), and every
//! public key inside a PKCS#8 must match the scalar. Accepted for interop:
//! PKCS#8 version 0 and 1 (RFC 5958), attributes (skipped), ECPrivateKey
//! `[0]` parameters naming secp384r1, and scalars of 24 to 48 bytes (leading
//! zeros dropped by some encoders; left-padded, as RustCrypto did).
//! The point and the scalar themselves are validated by `p384`.

use base64ct::{Base64, Encoding as _};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// `AlgorithmIdentifier { id-ecPublicKey (1.2.840.10045.2.1), secp384r1 (1.3.132.0.34) }`
/// content bytes.
const ALGORITHM: [u8; 16] = [
    0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, // id-ecPublicKey
    0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22, // secp384r1
];
const SECP384R1: &[u8] = &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22];

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const OCTET_STRING: u8 = 0x04;
const PARAMETERS: u8 = 0xa0; // [0] EXPLICIT ECParameters
const PUBLIC_KEY: u8 = 0xa1; // [1] EXPLICIT BIT STRING
const ATTRIBUTES: u8 = 0xa0; // PKCS#8 [0] IMPLICIT Attributes
const ONE_ASYMMETRIC_PUBLIC_KEY: u8 = 0x81; // RFC 5958 [1] IMPLICIT BIT STRING

/// Reads DER TLVs from a slice; every read is bounds-checked.
struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    const fn new(data: &'a [u8]) -> Self {
        Self { data }
    }
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.data.split_first()?;
        self.data = rest;
        Some(b)
    }
    fn peek(&self) -> Option<u8> {
        self.data.first().copied()
    }
    /// The content of the next TLV, which must have tag `tag`.
    fn tlv(&mut self, tag: u8) -> Option<&'a [u8]> {
        if self.byte()? != tag {
            return None;
        }
        let len = match self.byte()? {
            n @ 0..=0x7f => usize::from(n),
            0x81 => match self.byte()? {
                n @ 0x80..=0xff => usize::from(n),
                _ => return None, // not the shortest form
            },
            0x82 => {
                let n = usize::from(self.byte()?) << 8 | usize::from(self.byte()?);
                if n < 0x100 {
                    return None;
                }
                n
            }
            _ => return None, // indefinite, or longer than any key here
        };
        if len > self.data.len() {
            return None;
        }
        let (content, rest) = self.data.split_at(len);
        self.data = rest;
        Some(content)
    }
    fn optional(&mut self, tag: u8) -> Option<Option<&'a [u8]>> {
        if self.peek() == Some(tag) { self.tlv(tag).map(Some) } else { Some(None) }
    }
    fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

/// Appends a TLV (lengths up to 65535).
fn put(out: &mut Vec<u8>, tag: u8, content: &[u8]) {
    out.push(tag);
    // Lengths here are at most a few hundred bytes.
    let len = content.len();
    debug_assert!(len <= 0xffff, "DER content too long for this writer");
    if len < 0x80 {
        out.push(len as u8);
    } else if len <= 0xff {
        out.extend_from_slice(&[0x81, len as u8]);
    } else {
        out.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]);
    }
    out.extend_from_slice(content);
}

/// A BIT STRING holding a SEC1 point: no unused bits.
fn bit_string_point(content: &[u8]) -> Option<&[u8]> {
    match content.split_first() {
        Some((0, point)) => Some(point),
        _ => None,
    }
}

/// The SEC1 point of a P-384 SubjectPublicKeyInfo.
pub fn spki_point(der: &[u8]) -> Option<&[u8]> {
    let mut outer = Reader::new(der);
    let mut spki = Reader::new(outer.tlv(SEQUENCE)?);
    if !outer.is_empty() || spki.tlv(SEQUENCE)? != ALGORITHM {
        return None;
    }
    let point = bit_string_point(spki.tlv(BIT_STRING)?)?;
    spki.is_empty().then_some(point)
}

/// SubjectPublicKeyInfo DER of a SEC1 point.
pub fn spki(point: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(24 + point.len());
    put(&mut body, SEQUENCE, &ALGORITHM);
    let mut bits = Vec::with_capacity(1 + point.len());
    bits.push(0);
    bits.extend_from_slice(point);
    put(&mut body, BIT_STRING, &bits);
    let mut out = Vec::with_capacity(body.len() + 4);
    put(&mut out, SEQUENCE, &body);
    out
}

/// What a P-384 PKCS#8 key carries: the private scalar as encoded, and the
/// public points found in it (ECPrivateKey `[1]`, and for a version-1
/// OneAsymmetricKey (RFC 5958) its `publicKey`), each of which must match.
pub struct Pkcs8Parts<'a> {
    pub scalar: &'a [u8],
    pub points: [Option<&'a [u8]>; 2],
}

/// Parses a P-384 PKCS#8 `PrivateKeyInfo` (version 0) or `OneAsymmetricKey`
/// (version 1). Attributes are skipped (some platforms add them); nothing
/// else may follow.
pub fn pkcs8_parts(der: &[u8]) -> Option<Pkcs8Parts<'_>> {
    let mut outer = Reader::new(der);
    let mut info = Reader::new(outer.tlv(SEQUENCE)?);
    let v2 = match info.tlv(INTEGER)? {
        [0] => false,
        [1] => true,
        _ => return None,
    };
    if !outer.is_empty() || info.tlv(SEQUENCE)? != ALGORITHM {
        return None;
    }
    let mut wrapper = Reader::new(info.tlv(OCTET_STRING)?);
    info.optional(ATTRIBUTES)?;
    let outer_point = match info.optional(ONE_ASYMMETRIC_PUBLIC_KEY)? {
        Some(bits) if v2 => Some(bit_string_point(bits)?),
        Some(_) => return None, // publicKey exists only in version 1
        None => None,
    };
    if !info.is_empty() {
        return None;
    }
    let mut ec = Reader::new(wrapper.tlv(SEQUENCE)?);
    if !wrapper.is_empty() || ec.tlv(INTEGER)? != [1] {
        return None;
    }
    let scalar = ec.tlv(OCTET_STRING)?;
    if let Some(params) = ec.optional(PARAMETERS)?
        && params != SECP384R1
    {
        return None;
    }
    let point = match ec.optional(PUBLIC_KEY)? {
        Some(explicit) => {
            let mut r = Reader::new(explicit);
            let point = bit_string_point(r.tlv(BIT_STRING)?)?;
            if !r.is_empty() {
                return None;
            }
            Some(point)
        }
        None => None,
    };
    ec.is_empty().then_some(Pkcs8Parts { scalar, points: [point, outer_point] })
}

/// PKCS#8 DER as WebCrypto and OpenSSL write it: version 0, named curve in
/// the algorithm identifier only, public key included.
pub fn pkcs8(scalar: &[u8], point: &[u8]) -> Zeroizing<Vec<u8>> {
    let mut ec = Zeroizing::new(Vec::with_capacity(160));
    put(&mut ec, INTEGER, &[1]);
    put(&mut ec, OCTET_STRING, scalar);
    let mut bits = Vec::with_capacity(1 + point.len());
    bits.push(0);
    bits.extend_from_slice(point);
    let mut explicit = Vec::with_capacity(4 + bits.len());
    put(&mut explicit, BIT_STRING, &bits);
    put(&mut ec, PUBLIC_KEY, &explicit);
    let mut ec_seq = Zeroizing::new(Vec::with_capacity(ec.len() + 4));
    put(&mut ec_seq, SEQUENCE, &ec);
    let mut body = Zeroizing::new(Vec::with_capacity(ec_seq.len() + 32));
    put(&mut body, INTEGER, &[0]);
    put(&mut body, SEQUENCE, &ALGORITHM);
    put(&mut body, OCTET_STRING, &ec_seq);
    let mut out = Zeroizing::new(Vec::with_capacity(body.len() + 4));
    put(&mut out, SEQUENCE, &body);
    out
}

/// PEM with 64-character lines and LF line endings.
pub fn pem(label: &str, der: &[u8]) -> Zeroizing<String> {
    let body = Zeroizing::new(Base64::encode_string(der));
    let mut out = Zeroizing::new(String::with_capacity(body.len() + body.len() / 64 + 2 * label.len() + 40));
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    for line in body.as_bytes().chunks(64) {
        out.push_str(core::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

/// The DER inside a PEM block with exactly this label. Surrounding
/// whitespace is ignored; lines may end in CRLF; no explanatory text, no
/// headers, standard padded Base64 only.
///
/// # Errors
/// [`ErrorCode::InvalidKey`](crate::ErrorCode::InvalidKey) (`what`) if the
/// text is not such a block.
pub fn unpem(text: &str, label: &str, what: &'static str) -> Result<Zeroizing<Vec<u8>>> {
    let bad = || Error::invalid_key(what);
    let mut lines = text.trim().lines(); // `lines` also takes "\r\n"
    let begin = lines.next().ok_or_else(bad)?;
    if begin.strip_prefix("-----BEGIN ").and_then(|r| r.strip_suffix("-----")) != Some(label) {
        return Err(bad());
    }
    let mut body = Zeroizing::new(String::with_capacity(text.len()));
    loop {
        let line = lines.next().ok_or_else(bad)?;
        if let Some(end) = line.strip_prefix("-----END ") {
            if end.strip_suffix("-----") != Some(label) || lines.next().is_some() {
                return Err(bad());
            }
            break;
        }
        if line.is_empty() || line.len() > 76 {
            return Err(bad());
        }
        body.push_str(line);
    }
    // Decoded into a zeroizing buffer, so a failure half way through leaves
    // no partial private key behind.
    let mut der = Zeroizing::new(vec![0u8; body.len() / 4 * 3]);
    let len = Base64::decode(body.as_bytes(), &mut der).map_err(|_| bad())?.len();
    der.truncate(len);
    Ok(der)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn reader_wants_shortest_definite_lengths() {
        assert_eq!(Reader::new(&[0x04, 0x01, 0xaa]).tlv(0x04), Some(&[0xaa][..]));
        assert_eq!(Reader::new(&[0x04, 0x81, 0x01, 0xaa]).tlv(0x04), None, "long form for a short length");
        assert_eq!(Reader::new(&[0x04, 0x80, 0xaa, 0x00, 0x00]).tlv(0x04), None, "indefinite");
        let mut long = vec![0x04, 0x82, 0x00, 0xff];
        long.extend([0u8; 0xff]);
        assert_eq!(Reader::new(&long).tlv(0x04), None, "two length bytes for one");
        let mut ok = vec![0x04, 0x81, 0xff];
        ok.extend([0u8; 0xff]);
        assert_eq!(Reader::new(&ok).tlv(0x04).map(<[u8]>::len), Some(0xff));
        assert_eq!(Reader::new(&[0x04, 0x02, 0xaa]).tlv(0x04), None, "length past the end");
        assert_eq!(Reader::new(&[0x05, 0x00]).tlv(0x04), None, "other tag");
    }

    #[test]
    fn put_writes_what_the_reader_reads() {
        for len in [0usize, 1, 0x7f, 0x80, 0xff, 0x100, 0x1234] {
            let content = vec![7u8; len];
            let mut out = Vec::new();
            put(&mut out, 0x30, &content);
            let mut r = Reader::new(&out);
            assert_eq!(r.tlv(0x30), Some(&content[..]), "{len}");
            assert!(r.is_empty());
        }
    }
}
