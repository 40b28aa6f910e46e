//! Weight initialisation schemes. burn's default initialisers already equal
//! PyTorch's (Kaiming-uniform with a = sqrt 5, i.e. weights and biases uniform in
//! +-1/sqrt(fan_in), with PyTorch's fan_in = out_channels * k * k for transposed
//! convolutions), so only Keras' defaults need a pass over the parameters.

use burn::module::{Module, ModuleMapper, Param};
use burn::tensor::{backend::Backend, Distribution, Tensor};

/// Re-initialises every parameter as Keras does by default: kernels Glorot-uniform
/// (bound sqrt(6 / (fan_in + fan_out))), biases zero.
struct KerasInit;

impl<B: Backend> ModuleMapper<B> for KerasInit {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        param.map(|tensor| {
            let dims = tensor.dims();
            let device = tensor.device();
            let fans = match D {
                // Dense [in, out].
                2 => dims[0] + dims[1],
                // Conv [out, in, k, k] or ConvT [in, out, k, k]: (in + out) * k * k
                // either way (Glorot is symmetric in the two fans).
                4 => (dims[0] + dims[1]) * dims[2] * dims[3],
                // Biases.
                _ => return tensor.zeros_like(),
            };
            let bound = (6.0 / fans as f64).sqrt();
            Tensor::random(dims, Distribution::Uniform(-bound, bound), &device)
        })
    }
}

/// `module` with Keras' default initialisation (draws from the backend RNG, so the
/// caller's seed applies).
pub fn keras_init<B: Backend, M: Module<B>>(module: M) -> M {
    module.map(&mut KerasInit)
}
