//! The interval log's encoding of a histogram: HdrHistogram's V2 format,
//! zlib-compressed, as every HdrHistogram log reader expects, with one
//! compressor kept for the whole log. hdrhistogram's `V2DeflateSerializer`
//! makes a new compressor for each histogram it writes ("TODO reuse
//! deflate buf", says its source): a compressor's tables are a few hundred
//! kilobytes, zeroed, so each histogram cost that much zeroing and a page
//! fault for each of its pages (a third of a 500/s run's page faults, by
//! `perf record -e page-faults`). Here the tables are reset, not made.

use std::io::{self, Write};

use flate2::{Compress, Compression, FlushCompress, Status};
use hdrhistogram::serialization::{
    Serializer, V2DeflateSerializeError, V2SerializeError, V2Serializer,
};
use hdrhistogram::{Counter, Histogram};

/// The V2 compressed format's cookie (HdrHistogram's
/// `V2CompressedEncodingCookieBase` with the word size 8).
const COOKIE: u32 = 0x1c84_9314;

/// Writes histograms as `V2DeflateSerializer` does, byte for byte.
pub struct ZlibV2 {
    v2: V2Serializer,
    plain: Vec<u8>,
    packed: Vec<u8>,
    zlib: Compress,
}

impl Default for ZlibV2 {
    fn default() -> Self {
        ZlibV2 {
            v2: V2Serializer::new(),
            plain: Vec::new(),
            packed: Vec::new(),
            // zlib's header, at zlib's default level, as hdrhistogram's.
            zlib: Compress::new(Compression::default(), true),
        }
    }
}

impl Serializer for ZlibV2 {
    type SerializeError = V2DeflateSerializeError;

    fn serialize<T: Counter, W: Write>(
        &mut self,
        h: &Histogram<T>,
        writer: &mut W,
    ) -> Result<usize, V2DeflateSerializeError> {
        self.plain.clear();
        self.v2
            .serialize(h, &mut self.plain)
            .map_err(V2DeflateSerializeError::InternalSerializationError)?;
        self.packed.clear();
        self.packed.extend_from_slice(&COOKIE.to_be_bytes());
        // The compressed length, known once compressed.
        self.packed.extend_from_slice(&[0; 4]);
        self.zlib.reset();
        loop {
            // `compress_vec` writes into spare capacity only.
            self.packed.reserve(self.plain.len() / 2 + 64);
            let read = usize::try_from(self.zlib.total_in()).unwrap_or(usize::MAX);
            let status = self
                .zlib
                .compress_vec(
                    self.plain.get(read..).unwrap_or_default(),
                    &mut self.packed,
                    FlushCompress::Finish,
                )
                .map_err(|e| V2DeflateSerializeError::IoError(io::Error::other(e)))?;
            if status == Status::StreamEnd {
                break;
            }
        }
        let length = u32::try_from(self.packed.len() - 8).map_err(|_| {
            V2DeflateSerializeError::InternalSerializationError(V2SerializeError::UsizeTypeTooSmall)
        })?;
        self.packed[4..8].copy_from_slice(&length.to_be_bytes());
        writer.write_all(&self.packed)?;
        Ok(self.packed.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hdrhistogram::serialization::{Deserializer, V2DeflateSerializer};

    fn histogram(values: &[u64]) -> Histogram<u64> {
        let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
        for v in values {
            h.record(*v).unwrap();
        }
        h
    }

    /// Each histogram in turn through one `ZlibV2` comes out as a fresh
    /// `V2DeflateSerializer` writes it, and reads back as itself.
    #[test]
    fn writes_what_hdrhistogram_writes_and_reads() {
        let spread: Vec<u64> = (1..5_000).map(|i| i * i % 3_000_007 + 1).collect();
        let cases = [
            histogram(&[]),
            histogram(&[120]),
            histogram(&spread),
            histogram(&[1, 59_999_999, 7, 7, 7, 400_000]),
            histogram(&spread[..10]),
        ];
        let mut ours = ZlibV2::default();
        for h in &cases {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            let n = ours.serialize(h, &mut a).unwrap();
            V2DeflateSerializer::new().serialize(h, &mut b).unwrap();
            assert_eq!(n, a.len());
            assert_eq!(a, b, "{} values", h.len());
            let back: Histogram<u64> = Deserializer::new().deserialize(&mut &a[..]).unwrap();
            assert_eq!(&back, h);
        }
    }
}
