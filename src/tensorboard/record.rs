//! TFRecord framing: how TensorBoard splits an event file into records.
//!
//! Each record is the data's length (u64, little-endian), the masked CRC-32C of
//! those 8 bytes, the data, and the masked CRC-32C of the data (both u32,
//! little-endian). The checksums let a reader tell a record cut short by a crash
//! from a complete one; TensorBoard's reader checks both.

use crc::{Crc, CRC_32_ISCSI};

/// CRC-32C (Castagnoli), the checksum TFRecord uses; `CRC_32_ISCSI` is its
/// catalogue name.
const CRC32C: Crc<u32> = Crc::<u32>::new(&CRC_32_ISCSI);

/// Added to the rotated checksum by [`masked_crc32c`] (TFRecord's constant).
const MASK_DELTA: u32 = 0xa282_ead8;

/// The masked CRC-32C of `bytes`, as TFRecord stores it. The mask (rotate right
/// by 15 bits, add a constant) keeps a checksum computed over data that itself
/// holds checksums from being trivially zero.
pub fn masked_crc32c(bytes: &[u8]) -> u32 {
    let crc = CRC32C.checksum(bytes);
    crc.rotate_right(15).wrapping_add(MASK_DELTA)
}

/// Appends `data` to `out` as one framed record.
pub fn append_record(out: &mut Vec<u8>, data: &[u8]) {
    let len = (data.len() as u64).to_le_bytes();
    out.extend_from_slice(&len);
    out.extend_from_slice(&masked_crc32c(&len).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&masked_crc32c(data).to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// CRC-32C's published check value (of "123456789") and an empty input.
    #[test]
    fn crc32c_matches_the_standard_check_value() {
        assert_eq!(CRC32C.checksum(b"123456789"), 0xe306_9283);
        assert_eq!(CRC32C.checksum(b""), 0);
        assert_eq!(masked_crc32c(b""), MASK_DELTA);
    }

    #[test]
    fn a_record_is_length_crc_data_crc() {
        let mut out = Vec::new();
        append_record(&mut out, b"abc");
        assert_eq!(out.len(), 8 + 4 + 3 + 4);
        assert_eq!(&out[..8], &3u64.to_le_bytes());
        assert_eq!(
            &out[8..12],
            &masked_crc32c(&3u64.to_le_bytes()).to_le_bytes()
        );
        assert_eq!(&out[12..15], b"abc");
        assert_eq!(&out[15..], &masked_crc32c(b"abc").to_le_bytes());
    }
}
