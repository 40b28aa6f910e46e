//! The networks: the published encoders and decoders as layer tables
//! ([`layout`]), the modules built from them ([`encoder`], [`decoder`]), the
//! last-layer up-samplers ([`upsampler`]), the initialisation schemes ([`init`])
//! and the VAE wrapper ([`vae`]: reparameterisation, seeded construction).

pub mod decoder;
pub mod encoder;
pub mod init;
pub mod layout;
pub mod upsampler;
pub mod vae;

#[cfg(test)]
mod tests;

pub use vae::{Vae, VaeOutput};
