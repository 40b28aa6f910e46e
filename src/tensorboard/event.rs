//! The `Event` protobuf of TensorBoard's event files, encoded by hand.
//!
//! Only the fields runner writes are encoded: `Event.wall_time` (1, double),
//! `Event.step` (2, int64), `Event.file_version` (3, string), `Event.summary`
//! (5, message) and, inside a summary, repeated `Summary.Value` (1) with its
//! `tag` (1, string) and `simple_value` (2, float). A reader skips fields it
//! does not know and takes absent ones as their defaults, so this subset is a
//! complete, valid message.

/// What an event carries besides its time and step.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    /// The file's first event: the format version (`brain.Event:2`).
    FileVersion(String),
    /// Scalars, as (tag, value) pairs.
    Scalars(Vec<(String, f32)>),
}

/// One TensorBoard event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Seconds since the Unix epoch.
    pub wall_time: f64,
    /// The training step the event belongs to.
    pub step: i64,
    /// The event's contents.
    pub payload: Payload,
}

/// The version string TensorBoard expects in a file's first event.
pub const FILE_VERSION: &str = "brain.Event:2";

/// Wire type of a varint (int64 here).
const VARINT: u8 = 0;
/// Wire type of 8 little-endian bytes (double).
const FIXED64: u8 = 1;
/// Wire type of a length and bytes (string, embedded message).
const LENGTH_DELIMITED: u8 = 2;
/// Wire type of 4 little-endian bytes (float).
const FIXED32: u8 = 5;

impl Event {
    /// The event as protobuf bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        key(&mut out, 1, FIXED64);
        out.extend_from_slice(&self.wall_time.to_le_bytes());
        key(&mut out, 2, VARINT);
        // int64 is encoded as the varint of its two's-complement bits.
        varint(&mut out, self.step as u64);
        match &self.payload {
            Payload::FileVersion(version) => bytes_field(&mut out, 3, version.as_bytes()),
            Payload::Scalars(values) => bytes_field(&mut out, 5, &summary(values)),
        }
        out
    }
}

/// A `Summary` message of `simple_value` scalars.
fn summary(values: &[(String, f32)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (tag, value) in values {
        let mut v = Vec::new();
        bytes_field(&mut v, 1, tag.as_bytes());
        key(&mut v, 2, FIXED32);
        v.extend_from_slice(&value.to_le_bytes());
        bytes_field(&mut out, 1, &v);
    }
    out
}

/// A field's key: its number and wire type.
fn key(out: &mut Vec<u8>, field: u32, wire_type: u8) {
    varint(out, u64::from(field) << 3 | u64::from(wire_type));
}

/// A length-delimited field (string, bytes or embedded message).
fn bytes_field(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    key(out, field, LENGTH_DELIMITED);
    varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// `value` as a base-128 varint, least significant group first.
fn varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_follow_the_protobuf_examples() {
        let enc = |v: u64| {
            let mut out = Vec::new();
            varint(&mut out, v);
            out
        };
        assert_eq!(enc(1), [0x01]);
        assert_eq!(enc(150), [0x96, 0x01]);
        assert_eq!(enc(300), [0xac, 0x02]);
        assert_eq!(enc(u64::MAX).len(), 10);
    }

    /// Bytes worked out by hand from the field numbers and wire types.
    #[test]
    fn a_scalar_event_encodes_field_by_field() {
        let event = Event {
            wall_time: 1.5,
            step: 300,
            payload: Payload::Scalars(vec![("a".into(), 2.0)]),
        };
        let mut want = vec![0x09];
        want.extend_from_slice(&1.5f64.to_le_bytes());
        want.extend_from_slice(&[0x10, 0xac, 0x02]);
        // summary (5): one value (1) of tag (1) "a" and simple_value (2) 2.0.
        want.extend_from_slice(&[0x2a, 10, 0x0a, 8, 0x0a, 1, b'a', 0x15]);
        want.extend_from_slice(&2.0f32.to_le_bytes());
        assert_eq!(event.encode(), want);
    }

    #[test]
    fn the_version_event_holds_the_string() {
        let event = Event {
            wall_time: 0.0,
            step: 0,
            payload: Payload::FileVersion(FILE_VERSION.into()),
        };
        let bytes = event.encode();
        let tail = [
            &[0x1a, FILE_VERSION.len() as u8][..],
            FILE_VERSION.as_bytes(),
        ]
        .concat();
        assert!(bytes.ends_with(&tail));
        assert_eq!(bytes.len(), 9 + 2 + tail.len());
    }
}
