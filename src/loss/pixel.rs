//! Pixel-space reconstruction terms: Gaussian (MSE) and Laplace (L1) likelihoods
//! (LOSSES.md §2.2).

use burn::tensor::{backend::Backend, Tensor};

use crate::pipeline::schema::PixelReduction;

/// Reduces element-wise errors `e` (`[B, C, H, W]`) as `reduction` says: the mean
/// over every element, or the sum over each image averaged over the batch.
fn reduce<B: Backend>(e: Tensor<B, 4>, reduction: PixelReduction) -> Tensor<B, 1> {
    match reduction {
        PixelReduction::Mean => e.mean(),
        PixelReduction::SumPerImage => {
            let batch = e.dims()[0] as f64;
            e.sum().div_scalar(batch)
        }
    }
}

/// Squared error scaled by 1/(2 sigma^2): with `SumPerImage` this is the Gaussian
/// negative log-likelihood of each image up to a constant; with `Mean` and sigma^2 =
/// 1/2 it is PyTorch's `MSELoss`.
pub fn mse<B: Backend>(
    recon: Tensor<B, 4>,
    target: Tensor<B, 4>,
    sigma: f64,
    reduction: PixelReduction,
) -> Tensor<B, 1> {
    let e = (recon - target)
        .powi_scalar(2)
        .div_scalar(2.0 * sigma * sigma);
    reduce(e, reduction)
}

/// Absolute error (Laplace likelihood with b = 1, up to a constant).
pub fn l1<B: Backend>(
    recon: Tensor<B, 4>,
    target: Tensor<B, 4>,
    reduction: PixelReduction,
) -> Tensor<B, 1> {
    reduce((recon - target).abs(), reduction)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spectral::dft::test_values;
    use burn::backend::Flex;
    use burn::tensor::TensorData;

    fn tensor(v: &[f64], shape: [usize; 4]) -> Tensor<Flex, 4> {
        let f: Vec<f32> = v.iter().map(|x| *x as f32).collect();
        Tensor::from_data(TensorData::new(f, shape), &Default::default())
    }

    #[test]
    fn values_match_direct_sums() {
        let shape = [3, 2, 4, 5];
        let n: usize = shape.iter().product();
        let (x, y) = (test_values(11, n), test_values(12, n));
        let sse: f64 = x.iter().zip(&y).map(|(a, b)| (a - b).powi(2)).sum();
        let sae: f64 = x.iter().zip(&y).map(|(a, b)| (a - b).abs()).sum();
        let get = |t: Tensor<Flex, 1>| -> f64 { t.into_scalar().into() };
        let close = |a: f64, b: f64| (a - b).abs() < 1e-5 * b.abs().max(1.0);
        assert!(close(
            get(mse(
                tensor(&x, shape),
                tensor(&y, shape),
                0.5f64.sqrt(),
                PixelReduction::Mean
            )),
            sse / n as f64
        ));
        assert!(close(
            get(mse(
                tensor(&x, shape),
                tensor(&y, shape),
                2.0,
                PixelReduction::SumPerImage
            )),
            sse / 8.0 / 3.0
        ));
        assert!(close(
            get(l1(
                tensor(&x, shape),
                tensor(&y, shape),
                PixelReduction::Mean
            )),
            sae / n as f64
        ));
        assert!(close(
            get(l1(
                tensor(&x, shape),
                tensor(&y, shape),
                PixelReduction::SumPerImage
            )),
            sae / 3.0
        ));
    }
}
