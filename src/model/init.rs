//! Weight initialisation schemes. burn's default initialisers already equal
//! PyTorch's (Kaiming-uniform with a = sqrt 5, i.e. weights and biases uniform in
//! +-1/sqrt(fan_in), with PyTorch's fan_in = out_channels * k * k for transposed
//! convolutions), so only Keras' defaults need a pass over the parameters.

use burn::module::{Module, ModuleMapper, Param};
use burn::tensor::{backend::Backend, Distribution, Tensor};

/// Version of the weight initialisation schemes.
/// Part of the keys of the nodes that use it: bump it when a change alters
/// results (see `crate::code_version`).
pub const VERSION: u32 = 1;

/// Re-initialises every parameter as Keras does by default: kernels Glorot-uniform
/// (bound sqrt(6 / (fan_in + fan_out))), biases zero.
struct KerasInit;

impl<B: Backend> ModuleMapper<B> for KerasInit {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        param.map(|tensor| {
            let dims = tensor.dims();
            let device = tensor.device();
            let trainable = tensor.is_require_grad();
            let fans = match D {
                // Dense [in, out].
                2 => Some(dims[0] + dims[1]),
                // Conv [out, in, k, k] or ConvT [in, out, k, k]: (in + out) * k * k
                // either way (Glorot is symmetric in the two fans).
                4 => Some((dims[0] + dims[1]) * dims[2] * dims[3]),
                // Biases.
                _ => None,
            };
            let fresh = match fans {
                Some(fans) => {
                    let bound = (6.0 / fans as f64).sqrt();
                    Tensor::random(dims, Distribution::Uniform(-bound, bound), &device)
                }
                None => Tensor::zeros(dims, &device),
            };
            // A new tensor is not tracked by autodiff unless asked.
            if trainable {
                fresh.require_grad()
            } else {
                fresh
            }
        })
    }
}

/// `module` with Keras' default initialisation (draws from the backend RNG, so the
/// caller's seed applies).
pub fn keras_init<B: Backend, M: Module<B>>(module: M) -> M {
    module.map(&mut KerasInit)
}

/// Forces every parameter's initialisation now. burn initialises parameters lazily
/// (on first use), which would draw from the global RNG at an arbitrary later time;
/// materialising them while the caller holds the seeding lock keeps runs
/// reproducible.
struct Materialize;

impl<B: Backend> ModuleMapper<B> for Materialize {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        param.map(|tensor| tensor)
    }
}

/// `module` with every parameter initialised now rather than lazily on first use,
/// so that the draws happen while the caller holds the seeding lock.
pub fn materialize<B: Backend, M: Module<B>>(module: M) -> M {
    module.map(&mut Materialize)
}
