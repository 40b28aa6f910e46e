//! The font of every plot, bundled in the binary (DejaVu Sans, licence in
//! assets/fonts/LICENSE-DejaVu.txt) so plots never depend on system fonts.

use std::sync::OnceLock;

use anyhow::{anyhow, Result};
use plotters::style::{register_font, FontStyle};

/// DejaVu Sans, as shipped by the fonts-dejavu-core package.
static DEJAVU_SANS: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// The family name plots ask for; SVG viewers fall back to their own sans-serif.
pub const FAMILY: &str = "sans-serif";

/// Registers the bundled font with plotters under [`FAMILY`] (once per process).
pub fn ensure_registered() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok =
        *REGISTERED.get_or_init(|| register_font(FAMILY, FontStyle::Normal, DEJAVU_SANS).is_ok());
    if ok {
        Ok(())
    } else {
        Err(anyhow!("the bundled DejaVu Sans font could not be read"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_font_registers() {
        ensure_registered().unwrap();
        // Registered: plotters can measure text in the family.
        let font = plotters::style::FontDesc::new(FAMILY.into(), 20.0, FontStyle::Normal);
        let (w, h) = font.box_size("spectrum").unwrap();
        assert!(w > 40 && h > 5, "{w}x{h}");
    }
}
