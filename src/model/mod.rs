//! The networks: IRMAE encoders and decoders, the last-layer up-samplers, and the
//! VAE wrapper (reparameterisation, sampling).

pub mod init;
pub mod irmae;
pub mod upsampler;
pub mod vae;

pub use vae::Vae;
