//! Colour → grey conversion shared by the AI loss and the AI metric.

/// Luma weights (R, G, B) used by Durall's code (ITU-R BT.601, as in MATLAB's
/// `rgb2gray`): grey = 0.2989·R + 0.5870·G + 0.1140·B.
pub const GRAY_WEIGHTS: [f32; 3] = [0.2989, 0.5870, 0.1140];

/// Grey image (`h×w`, row-major) of a channel-first (`C×H×W`) image.
///
/// `channels` must be 1 (the image is copied) or 3 (weighted sum with
/// [`GRAY_WEIGHTS`]). Any other count is a caller bug: debug builds assert; release
/// builds return the plain channel mean rather than aborting a long evaluation.
/// Panics if `img.len() != channels·h·w`.
pub fn to_gray(img: &[f32], channels: usize, h: usize, w: usize) -> Vec<f32> {
    let n = h * w;
    assert_eq!(
        img.len(),
        channels * n,
        "image length must be {channels}x{h}x{w}"
    );
    debug_assert!(
        channels == 1 || channels == 3,
        "to_gray takes 1 or 3 channels, got {channels}"
    );
    match channels {
        1 => img.to_vec(),
        3 => {
            let (r, rest) = img.split_at(n);
            let (g, b) = rest.split_at(n);
            let [wr, wg, wb] = GRAY_WEIGHTS;
            r.iter()
                .zip(g)
                .zip(b)
                .map(|((&r, &g), &b)| wr * r + wg * g + wb * b)
                .collect()
        }
        0 => vec![0.0; n],
        _ => {
            let scale = 1.0 / channels as f32;
            (0..n)
                .map(|i| (0..channels).map(|c| img[c * n + i]).sum::<f32>() * scale)
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_channel_is_copied() {
        let img = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6];
        assert_eq!(to_gray(&img, 1, 2, 3), img.to_vec());
    }

    #[test]
    fn rgb_uses_durall_weights() {
        // Two pixels, CHW: R = [1, 0.5], G = [0, 0.25], B = [0, 1].
        let img = [1.0, 0.5, 0.0, 0.25, 0.0, 1.0];
        let gray = to_gray(&img, 3, 1, 2);
        assert_eq!(gray[0], 0.2989);
        let expected = 0.2989 * 0.5 + 0.5870 * 0.25 + 0.1140 * 1.0;
        assert!((gray[1] - expected).abs() < 1e-7);
        // Pure green and pure blue pick out their weights.
        assert_eq!(to_gray(&[0.0, 1.0, 0.0], 3, 1, 1), vec![0.5870]);
        assert_eq!(to_gray(&[0.0, 0.0, 1.0], 3, 1, 1), vec![0.1140]);
        // The weights sum to (almost) one, so a grey RGB image stays itself.
        let g = to_gray(&[0.7, 0.7, 0.7], 3, 1, 1)[0];
        assert!((g - 0.7).abs() < 1e-4);
    }

    #[test]
    #[should_panic(expected = "image length")]
    fn wrong_length_panics() {
        to_gray(&[0.0; 5], 3, 1, 2);
    }
}
