//! All Fourier maths of the crate, in one place, so that the training losses and the
//! evaluation metrics cannot drift apart (same DFT convention, same radial bins, same
//! colour-to-grey weights).
//!
//! * [`dft`]: constant cos/sin matrices for the matrix-product DFT used inside the
//!   autodiff graph (docs/methods.md#matrix-dft), plus a direct O(N²) DFT kept as the independent
//!   reference that every test in the crate compares against.
//! * [`fft`]: fast real-input 2-D FFT ([`fft::Fft2`]) and `fftshift` for the CPU metrics.
//! * [`color`]: RGB → grey with Durall's weights.
//! * [`radial`]: Durall's azimuthal binning of a centred spectrum, as a per-pixel bin map
//!   and as constant averaging matrices for the differentiable AI loss.
//! * [`ai`]: the per-image log-magnitude radial profile (docs/methods.md#azimuthal-profile).
//! * [`axis`]: per-axis complex matrices (full, shifted, block and windowed DFTs,
//!   selections, Toeplitz blurs) that make every transform of the losses separable.
//! * [`tensor`]: those transforms as burn matrix products, for the losses.
//! * [`window`]: Hann tapers and Gaussian taps.
//!
//! Convention everywhere: the unnormalised ("backward") DFT
//! `X[u,v] = Σ_h Σ_w x[h,w] · exp(−i2π(uh/H + vw/W))`, images row-major.

pub mod ai;
pub mod axis;
pub mod color;
pub mod dft;
pub mod fft;
pub mod radial;
pub mod tensor;
pub mod window;
