//! The recovery ceremony (docs/FORMAT.md §9): every device of a clinician is
//! wiped, two of three officers' shares recover the organisation's recovery
//! key, and every record and the tenant index key open again and are
//! rewrapped to the clinician's new key; a share alone, shares of two
//! ceremonies, a forged share or a share for another session open nothing.
#![cfg(feature = "recovery")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use base64ct::{Base64UrlUnpadded, Encoding as _};
use phiseal::ErrorCode;
use phiseal::field::{self, Expected, IndexKey, Recipient, Schema, SealOptions};
use phiseal::json::Value;
use phiseal::keys::{PrivateKey, PublicKey};
use phiseal::recovery::{self, Ceremony};
use phiseal::sign::SigningKey;

const SCHEMA: &str = r#"{"id":"chart","version":1,"fields":{
  "name":{"group":"identity"},"mrn":{"mode":"blindIndex","bits":16,"group":"identity"},
  "dx":{"group":"clinical"},"notes":{"group":"clinical"}}}"#;

fn officers() -> (Vec<PrivateKey>, Vec<PublicKey>) {
    let keys: Vec<PrivateKey> = (0..3).map(|_| PrivateKey::generate().unwrap()).collect();
    let pubs = keys.iter().map(|k| *k.public_key()).collect();
    (keys, pubs)
}

fn code<T>(r: phiseal::Result<T>) -> ErrorCode {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.code(),
    }
}

/// Officers `which` reseal their shares to `session`.
fn resealed(c: &Ceremony, keys: &[PrivateKey], which: &[usize], session: &PublicKey) -> Vec<String> {
    which.iter().map(|&i| recovery::reseal_share(&c.shares[i], &keys[i], session).unwrap()).collect()
}

#[test]
fn every_device_wiped_two_of_three_officers_recover_every_record_and_the_index_key() {
    let schema = Schema::from_json(SCHEMA).unwrap();
    let (officer_keys, officer_pubs) = officers();
    let ceremony = recovery::split(2, &officer_pubs).unwrap();
    assert_eq!(ceremony.shares.len(), 3);
    let recovery_key = ceremony.recovery_key;
    let author = SigningKey::generate().unwrap();
    let index_key = IndexKey::generate().unwrap();

    // The clinician's only device holds her key; every record is sealed to her
    // and, by policy, to the recovery key.
    let clinician = PrivateKey::generate().unwrap();
    let to = vec![Recipient::all_groups(*clinician.public_key()), Recipient::all_groups(recovery_key)];
    let records: Vec<Value> = (0..5)
        .map(|i| {
            Value::parse(&format!(r#"{{"name":"Patient {i}","mrn":"MRN-{i}","dx":"J45.{i}","notes":"note {i}"}}"#))
                .unwrap()
        })
        .collect();
    let sealed: Vec<Value> = records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            field::seal_record(
                r,
                &schema,
                &SealOptions::new(&format!("r-{i}"), to.clone(), 1),
                Some(&index_key),
                &author,
            )
            .unwrap()
        })
        .collect();
    for s in &sealed {
        recovery::check_recoverable(s, &recovery_key).unwrap();
    }
    let sealed_index = index_key.seal(&[*clinician.public_key(), recovery_key], &author).unwrap();
    let authors = [author.verifying_key()];
    drop(clinician); // every device wiped

    // A record sealed without the recovery key is refused by the policy check.
    let other = PrivateKey::generate().unwrap();
    let unrecoverable = field::seal_record(
        &records[0],
        &schema,
        &SealOptions::new("r-x", vec![Recipient::all_groups(*other.public_key())], 1),
        Some(&index_key),
        &author,
    )
    .unwrap();
    assert_eq!(code(recovery::check_recoverable(&unrecoverable, &recovery_key)), ErrorCode::NotRecipient);

    // Recovery session: officers 1 and 3 reseal their shares to it.
    let session = PrivateKey::generate().unwrap();
    let shares = resealed(&ceremony, &officer_keys, &[0, 2], session.public_key());
    let recovered = recovery::combine(&shares, &session, &recovery_key).unwrap();
    assert_eq!(recovered.public_key(), &recovery_key);

    // Everything opens again and moves to the clinician's new key.
    let new_key = PrivateKey::generate().unwrap();
    let index = IndexKey::open(&sealed_index, &recovered, &authors).unwrap();
    assert_eq!(index.id(), index_key.id());
    let resealed_index = index.seal(&[*new_key.public_key(), recovery_key], &author).unwrap();
    let index = IndexKey::open(&resealed_index, &new_key, &authors).unwrap();
    let to_new = vec![Recipient::all_groups(*new_key.public_key()), Recipient::all_groups(recovery_key)];
    for (i, (s, original)) in sealed.iter().zip(&records).enumerate() {
        let id = format!("r-{i}");
        let moved =
            field::rewrap_record(s, &schema, &recovered, &to_new, &Expected::new(&id, &authors), &author).unwrap();
        recovery::check_recoverable(&moved, &recovery_key).unwrap();
        let opened =
            field::open_record(&moved, &schema, &new_key, Some(&index), &Expected::new(&id, &authors)).unwrap();
        assert_eq!(&opened.record, original);
        assert!(opened.locked.is_empty());
    }
}

#[test]
fn attack_one_share_two_ceremonies_forged_or_foreign_shares_open_nothing() {
    let (keys, pubs) = officers();
    let a = recovery::split(2, &pubs).unwrap();
    let b = recovery::split(2, &pubs).unwrap();
    let session = PrivateKey::generate().unwrap();
    let sp = session.public_key();
    // A share alone.
    let one = resealed(&a, &keys, &[1], sp);
    assert_eq!(code(recovery::combine(&one, &session, &a.recovery_key)), ErrorCode::InvalidArgument);
    // One share twice.
    let twice = [one[0].clone(), one[0].clone()];
    assert_eq!(code(recovery::combine(&twice, &session, &a.recovery_key)), ErrorCode::InvalidArgument);
    // Two shares of different ceremonies, against either ceremony.
    let mixed = [resealed(&a, &keys, &[0], sp).remove(0), resealed(&b, &keys, &[1], sp).remove(0)];
    assert_eq!(code(recovery::combine(&mixed, &session, &a.recovery_key)), ErrorCode::ContextMismatch);
    assert_eq!(code(recovery::combine(&mixed, &session, &b.recovery_key)), ErrorCode::ContextMismatch);
    // Genuine shares of ceremony B when the organisation pinned A's key (a
    // server that ran a ceremony of its own).
    let of_b = resealed(&b, &keys, &[0, 1], sp);
    assert_eq!(code(recovery::combine(&of_b, &session, &a.recovery_key)), ErrorCode::ContextMismatch);
    // A forged share: A's header, another value, sealed to the session by
    // whoever knows its public key; the combination is not A's key.
    let forged_value = recovery::split(2, &[*sp, *PrivateKey::generate().unwrap().public_key()]).unwrap();
    let mut forged = resealed(&a, &keys, &[0], sp);
    let b_share = forged_value.shares[0].clone();
    let info = recovery::share_info(&b_share).unwrap();
    assert_eq!(info.recipient, sp.thumbprint());
    // Splice A's header onto B's sealed body: the HPKE AAD is the header, so it
    // no longer opens.
    let a_bytes = Base64UrlUnpadded::decode_vec(forged[0].strip_prefix("phr1.").unwrap()).unwrap();
    let mut b_bytes = Base64UrlUnpadded::decode_vec(b_share.strip_prefix("phr1.").unwrap()).unwrap();
    b_bytes[..68].copy_from_slice(&a_bytes[..68]);
    forged.push(format!("phr1.{}", Base64UrlUnpadded::encode_string(&b_bytes)));
    assert_eq!(code(recovery::combine(&forged, &session, &a.recovery_key)), ErrorCode::DecryptFailed);
    // A well-formed forged share (A's header, a value of the forger's
    // choosing, sealed to the session with HPKE as the format says): it opens,
    // and the combination is not A's key.
    let mut header = a_bytes[..68].to_vec();
    header[35] = 3; // another index than the genuine share it is combined with
    let value = PrivateKey::generate().unwrap().to_scalar_bytes();
    let (enc, ct) = phiseal::hpke::seal(
        phiseal::hpke::Suite::PHISEAL,
        sp,
        b"phiseal-recovery-share-v1",
        &header,
        &value[..],
        None,
        None,
    )
    .unwrap();
    let well_formed = format!("phr1.{}", Base64UrlUnpadded::encode_string(&[header, enc, ct].concat()));
    let set = [resealed(&a, &keys, &[0], sp).remove(0), well_formed];
    assert_eq!(code(recovery::combine(&set, &session, &a.recovery_key)), ErrorCode::ContextMismatch);
    // Shares resealed to another session.
    let other = PrivateKey::generate().unwrap();
    let elsewhere = resealed(&a, &keys, &[0, 1], other.public_key());
    assert_eq!(code(recovery::combine(&elsewhere, &session, &a.recovery_key)), ErrorCode::NotRecipient);
    // An officer cannot reseal another officer's share.
    assert_eq!(code(recovery::reseal_share(&a.shares[0], &keys[1], sp)), ErrorCode::NotRecipient);
    // Every flipped byte of a share is refused.
    let good = resealed(&a, &keys, &[0], sp).remove(0);
    let bytes = Base64UrlUnpadded::decode_vec(good.strip_prefix("phr1.").unwrap()).unwrap();
    for i in 0..bytes.len() {
        let mut bad = bytes.clone();
        bad[i] ^= 0x01;
        let text = format!("phr1.{}", Base64UrlUnpadded::encode_string(&bad));
        let set = [text, resealed(&a, &keys, &[1], sp).remove(0)];
        assert!(recovery::combine(&set, &session, &a.recovery_key).is_err(), "byte {i}");
    }
    // The two genuine shares still work.
    let ok = resealed(&a, &keys, &[1, 2], sp);
    assert_eq!(recovery::combine(&ok, &session, &a.recovery_key).unwrap().public_key(), &a.recovery_key);
}

#[test]
fn ceremony_arguments_are_checked() {
    let (_, pubs) = officers();
    assert_eq!(code(recovery::split(1, &pubs)), ErrorCode::InvalidArgument);
    assert_eq!(code(recovery::split(4, &pubs)), ErrorCode::InvalidArgument);
    assert_eq!(code(recovery::split(2, &[pubs[0], pubs[0], pubs[1]])), ErrorCode::InvalidArgument);
    let c = recovery::split(3, &pubs).unwrap();
    let info = recovery::share_info(&c.shares[2]).unwrap();
    assert_eq!((info.threshold, info.shares, info.index), (3, 3, 3));
    assert_eq!(info.ceremony, c.recovery_key.thumbprint());
    assert_eq!(code(recovery::share_info("phr1.AAAA")), ErrorCode::MalformedInput);
    assert_eq!(code(recovery::share_info("phx1.AAAA")), ErrorCode::MalformedInput);
}
