//! Test helpers shared by the loss tests: tensors from f64 values, a gradient
//! check against central finite differences of an independent f64 reference, and
//! the robustness cases of docs/methods.md#degenerate-inputs (zeros, constants,
//! identical, saturated).

use burn::backend::{Autodiff, Flex};
use burn::tensor::{backend::Backend, ElementConversion, Tensor, TensorData};

/// The autodiff backend the loss tests differentiate on.
pub type Ad = Autodiff<Flex>;

/// A `[B, C, H, W]` tensor from f64 values.
pub fn tensor4<B: Backend>(v: &[f64], shape: [usize; 4]) -> Tensor<B, 4> {
    let f: Vec<f32> = v.iter().map(|x| *x as f32).collect();
    Tensor::from_data(TensorData::new(f, shape), &Default::default())
}

/// A scalar loss tensor as f64.
pub fn scalar<B: Backend>(t: Tensor<B, 1>) -> f64 {
    t.into_scalar().elem()
}

/// The gradient of `loss` at `x` (through burn's autodiff).
pub fn autodiff_gradient(
    loss: impl Fn(Tensor<Ad, 4>) -> Tensor<Ad, 1>,
    x: &[f64],
    shape: [usize; 4],
) -> Vec<f64> {
    let xt = tensor4::<Ad>(x, shape).require_grad();
    let grads = loss(xt.clone()).backward();
    xt.grad(&grads)
        .expect("loss does not depend on its input")
        .into_data()
        .to_vec::<f32>()
        .unwrap()
        .into_iter()
        .map(f64::from)
        .collect()
}

/// Asserts that the autodiff gradient of `loss` at `x` matches central finite
/// differences (step `eps`) of the f64 `reference`, within
/// `tol * (1 + |fd|)` per element.
pub fn check_gradient(
    loss: impl Fn(Tensor<Ad, 4>) -> Tensor<Ad, 1>,
    reference: impl Fn(&[f64]) -> f64,
    x: &[f64],
    shape: [usize; 4],
    eps: f64,
    tol: f64,
) {
    let grad = autodiff_gradient(loss, x, shape);
    for k in 0..x.len() {
        let mut plus = x.to_vec();
        plus[k] += eps;
        let mut minus = x.to_vec();
        minus[k] -= eps;
        let fd = (reference(&plus) - reference(&minus)) / (2.0 * eps);
        assert!(
            (grad[k] - fd).abs() <= tol * (1.0 + fd.abs()),
            "gradient element {k}: autodiff {} vs finite difference {fd}",
            grad[k]
        );
    }
}

/// Asserts that `loss(recon, target)` and its gradient with respect to `recon`
/// are finite on the degenerate inputs of docs/methods.md#degenerate-inputs:
/// all-zero images, constant images, identical inputs, and saturated
/// reconstructions (exact 0 and 1) against textured targets.
pub fn assert_finite_on_edge_cases(
    shape: [usize; 4],
    loss: impl Fn(Tensor<Ad, 4>, Tensor<Ad, 4>) -> Tensor<Ad, 1>,
) {
    let n: usize = shape.iter().product();
    let textured = crate::spectral::dft::test_values(77, n);
    let binary: Vec<f64> = textured.iter().map(|v| (*v > 0.5) as u8 as f64).collect();
    let cases: Vec<(&str, Vec<f64>, Vec<f64>)> = vec![
        ("all zero", vec![0.0; n], vec![0.0; n]),
        ("constant", vec![0.5; n], vec![0.5; n]),
        ("constant vs zero", vec![0.3; n], vec![0.0; n]),
        ("identical", textured.clone(), textured.clone()),
        ("saturated at 1", vec![1.0; n], textured.clone()),
        ("saturated at 0", vec![0.0; n], textured.clone()),
        ("saturated binary", binary.clone(), textured.clone()),
        ("zero target", textured.clone(), vec![0.0; n]),
    ];
    for (name, recon, target) in cases {
        let r = tensor4::<Ad>(&recon, shape).require_grad();
        let value = loss(r.clone(), tensor4::<Ad>(&target, shape));
        let v = scalar(value.clone());
        assert!(v.is_finite(), "{name}: loss value {v}");
        let grads = value.backward();
        if let Some(g) = r.grad(&grads) {
            let g = g.into_data().to_vec::<f32>().unwrap();
            assert!(
                g.iter().all(|x| x.is_finite()),
                "{name}: non-finite gradient"
            );
        }
    }
}
