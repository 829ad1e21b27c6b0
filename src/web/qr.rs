//! QR codes as inline SVG markup drawn here (no image request, no script):
//! black modules on white with the standard quiet zone.

use qrcode::{QrCode, render::svg};

use super::error::WebError;

pub fn svg(data: &str) -> Result<String, WebError> {
    let qr = QrCode::new(data.as_bytes()).map_err(|e| WebError::Internal(e.into()))?;
    let svg = qr
        .render::<svg::Color>()
        .min_dimensions(200, 200)
        .dark_color(svg::Color("#111827"))
        .light_color(svg::Color("#ffffff"))
        .build();
    // Inline in HTML: the XML declaration goes, the <svg> element stays.
    Ok(svg
        .find("<svg")
        .map_or(svg.clone(), |start| svg[start..].to_owned()))
}
